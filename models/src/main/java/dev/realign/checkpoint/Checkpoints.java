package dev.realign.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Finding a model's weights in a folder laid out as Hugging Face saves it. */
public final class Checkpoints {
    static final String INDEX = "model.safetensors.index.json";
    static final String SINGLE = "model.safetensors";

    private Checkpoints() {}

    /**
     * Opens a model folder: {@code model.safetensors.index.json} if present, else {@code model.safetensors},
     * else the folder's only {@code *.safetensors} file. Several candidate files without an index are an
     * error rather than a guess.
     */
    public static WeightSource openFolder(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw CheckpointException.inFile(dir, Files.exists(dir) ? "is not a folder" : "no such folder");
        }
        Path index = dir.resolve(INDEX);
        if (Files.exists(index)) {
            return ShardedCheckpoint.open(index);
        }
        Path single = dir.resolve(SINGLE);
        if (Files.exists(single)) {
            return SafetensorsFile.open(single);
        }
        List<Path> candidates;
        try (Stream<Path> files = Files.list(dir)) {
            candidates = files.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
                    .filter(Files::isRegularFile)
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot list: " + e, e);
        }
        return switch (candidates.size()) {
            case 0 -> throw CheckpointException.inFile(dir, "holds no " + INDEX + ", " + SINGLE
                    + " or other *.safetensors file");
            case 1 -> SafetensorsFile.open(candidates.getFirst());
            default -> throw CheckpointException.inFile(dir, "holds several *.safetensors files ("
                    + candidates.stream().map(p -> p.getFileName().toString()).collect(Collectors.joining(", "))
                    + ") but no " + INDEX + " saying how they fit together");
        };
    }
}
