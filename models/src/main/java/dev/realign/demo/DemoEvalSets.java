package dev.realign.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.safety.prompts.PromptSetFormat;
import dev.realign.safety.prompts.PromptSets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The held-out evaluation sets of the demo family.
 *
 * @param harmful harmful prompts (reference: a refusal)
 * @param benign  benign prompts (reference: the helpful answer)
 * @param task    downstream-task prompts (reference: the exact answer)
 */
public record DemoEvalSets(List<DemoExample> harmful, List<DemoExample> benign, List<DemoExample> task) {
    public DemoEvalSets {
        harmful = List.copyOf(harmful);
        benign = List.copyOf(benign);
        task = List.copyOf(task);
    }

    public static DemoEvalSets heldOut(DemoWorld.Data data) {
        return new DemoEvalSets(data.harmfulRefusal().test(), data.benign().test(), data.task().test());
    }

    /** At most {@code n} of each set, evenly spread (quick checks while training); all of them when {@code n} is 0. */
    public DemoEvalSets limit(int n) {
        return new DemoEvalSets(PromptSets.spread(harmful, n), PromptSets.spread(benign, n), PromptSets.spread(task, n));
    }

    public static final String HARMFUL_FILE = "harmful.jsonl";
    public static final String BENIGN_FILE = "benign.jsonl";
    public static final String TASK_FILE = "task.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Writes the sets as JSONL lines {@code {"prompt", "reference", "category"}} into {@code dir}. */
    public static void write(DemoEvalSets sets, Path dir) {
        try {
            Files.createDirectories(dir);
            writeLines(dir.resolve(HARMFUL_FILE), sets.harmful());
            writeLines(dir.resolve(BENIGN_FILE), sets.benign());
            writeLines(dir.resolve(TASK_FILE), sets.task());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write evaluation sets to " + dir, e);
        }
    }

    /** Reads the sets {@link #write} wrote; a malformed line is a {@code PromptSetException} naming the file and line. */
    public static DemoEvalSets load(Path dir) {
        return new DemoEvalSets(readLines(dir.resolve(HARMFUL_FILE), DemoKind.HARMFUL_REFUSAL),
                readLines(dir.resolve(BENIGN_FILE), DemoKind.BENIGN), readLines(dir.resolve(TASK_FILE), DemoKind.TASK));
    }

    private static void writeLines(Path file, List<DemoExample> examples) throws IOException {
        StringBuilder text = new StringBuilder();
        for (DemoExample e : examples) {
            Map<String, String> line = new LinkedHashMap<>();
            line.put("prompt", e.prompt());
            line.put("reference", e.response());
            line.put("category", e.category());
            text.append(JSON.writeValueAsString(line)).append('\n');
        }
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    private static List<DemoExample> readLines(Path file, DemoKind kind) {
        return PromptSets.load(file, PromptSetFormat.JSONL).stream()
                .map(p -> new DemoExample(p.prompt(), p.reference(), kind, p.category())).toList();
    }
}
