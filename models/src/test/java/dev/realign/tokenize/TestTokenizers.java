package dev.realign.tokenize;

import dev.realign.model.synthetic.SyntheticModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/** One trained tokenizer written to a temporary folder, shared by the tokenizer tests of a JVM. */
final class TestTokenizers {
    private static Path dir;

    private TestTokenizers() {}

    /** A folder holding the synthetic models' tokenizer.json and tokenizer_config.json. */
    static synchronized Path modelDir() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory("realign-tokenizer-test");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            SyntheticModels.tokenizer().writeTo(dir);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
        }
        return dir;
    }

    static void deleteTree(Path root) {
        try (var paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Best effort: a leftover temp folder is not worth failing a test run for.
        }
    }
}
