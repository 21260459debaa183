package dev.realign.benchmarks;

import dev.realign.merge.RandomLora;
import dev.realign.model.Weights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The adapter the profile and decode benchmarks serve: a random PEFT LoRA of rank 16 on all seven linear
 * projections of every layer (no pretrained adapter can be downloaded here), written to a temporary folder
 * that {@link #close()} deletes. Its values do not change the speed of anything measured.
 */
final class BenchLora implements AutoCloseable {
    static final int RANK = 16;
    static final double ALPHA = 32;
    /** Small entries, so that B @ A is a plausible fine-tuning delta next to weights of std ~1/sqrt(896). */
    static final double STD = 0.02;

    private final Path dir;

    BenchLora(Weights base, long seed) {
        try {
            dir = Files.createTempDirectory("realign-bench-lora");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        RandomLora.write(dir, base, RandomLora.ALL_PROJECTIONS, RANK, ALPHA, STD, seed);
    }

    Path dir() {
        return dir;
    }

    @Override
    public void close() {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
