package dev.realign.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A checkpoint split over several safetensors files, described by a {@code model.safetensors.index.json}:
 * <pre>{"metadata": {...}, "weight_map": {"tensor name": "shard file name", ...}}</pre>
 *
 * <p>The index and the shards must agree exactly: every tensor the map assigns to a shard must be in that
 * shard, and every tensor in a shard must be mapped to that shard. A tensor in a shard that the map does not
 * mention, or maps elsewhere, is an error rather than ignored: otherwise which copy a model gets would
 * depend on which file is asked, a silent guess. A tensor listed twice in the map is invalid JSON here
 * (duplicate key). Keys of the index other than {@code metadata} and {@code weight_map} are ignored.
 *
 * <p>Shard names must be plain file names in the index's folder (no separators, no {@code ..}): an index must
 * not make the server map arbitrary files. Symbolic links in the folder are followed, as a Hugging Face
 * cache snapshot consists of them. Each shard is opened once; closing the checkpoint closes them all.
 */
public final class ShardedCheckpoint implements WeightSource {
    private final Path index;
    private final SequencedMap<String, SafetensorsFile> byTensor;
    private final List<SafetensorsFile> shards;
    private final Map<String, String> metadata;
    private final AtomicBoolean closed = new AtomicBoolean();

    private ShardedCheckpoint(Path index, SequencedMap<String, SafetensorsFile> byTensor,
            List<SafetensorsFile> shards, Map<String, String> metadata) {
        this.index = index;
        this.byTensor = byTensor;
        this.shards = shards;
        this.metadata = metadata;
    }

    /** Opens the index and every shard it names; on any failure closes the shards already opened. */
    public static ShardedCheckpoint open(Path indexJson) {
        JsonNode root = readIndex(indexJson);
        Map<String, String> metadata = flattenMetadata(indexJson, root.get("metadata"));
        SequencedMap<String, String> shardOf = weightMap(indexJson, root.get("weight_map"));

        Path folder = indexJson.toAbsolutePath().getParent();
        SequencedMap<String, SafetensorsFile> opened = new LinkedHashMap<>();
        try {
            for (var entry : shardOf.entrySet()) {
                String shardName = entry.getValue();
                if (!opened.containsKey(shardName)) {
                    Path shardPath = folder.resolve(shardName);
                    if (!Files.exists(shardPath)) {
                        throw CheckpointException.inFile(indexJson, "shard '" + shardName + "' (listed for tensor '"
                                + entry.getKey() + "') does not exist: " + shardPath);
                    }
                    opened.put(shardName, SafetensorsFile.open(shardPath));
                }
            }
            SequencedMap<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
            for (var entry : shardOf.entrySet()) {
                SafetensorsFile shard = opened.get(entry.getValue());
                if (!shard.contains(entry.getKey())) {
                    throw CheckpointException.inTensor(shard.path(), entry.getKey(), "listed for this shard in "
                            + indexJson + " but absent from it");
                }
                byTensor.put(entry.getKey(), shard);
            }
            for (var shard : opened.entrySet()) {
                for (String name : shard.getValue().names()) {
                    String mapped = shardOf.get(name);
                    if (mapped == null) {
                        throw CheckpointException.inTensor(shard.getValue().path(), name,
                                "present in this shard but missing from the weight_map of " + indexJson);
                    }
                    if (!mapped.equals(shard.getKey())) {
                        throw CheckpointException.inTensor(shard.getValue().path(), name,
                                "present in this shard but the weight_map of " + indexJson + " assigns it to '"
                                        + mapped + "'");
                    }
                }
            }
            return new ShardedCheckpoint(indexJson, Collections.unmodifiableSequencedMap(byTensor),
                    List.copyOf(opened.values()), metadata);
        } catch (RuntimeException | Error e) {
            for (SafetensorsFile shard : opened.values()) {
                try {
                    shard.close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private static JsonNode readIndex(Path indexJson) {
        byte[] bytes;
        try {
            long size = Files.size(indexJson);
            // Same bound as a safetensors header: an index is a name list, megabytes at most.
            if (size > SafetensorsHeader.MAX_HEADER_BYTES) {
                throw CheckpointException.inFile(indexJson, "is " + size + " bytes, absurdly large for an index (limit "
                        + SafetensorsHeader.MAX_HEADER_BYTES + ")");
            }
            bytes = Files.readAllBytes(indexJson);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(indexJson + ": no such file", e);
        } catch (IOException e) {
            throw new CheckpointException(indexJson + ": cannot read: " + e, e);
        }
        JsonNode root = StrictJson.parse(indexJson, "index", bytes);
        if (!root.isObject()) {
            throw CheckpointException.inFile(indexJson, "index is not a JSON object but " + root.getNodeType());
        }
        return root;
    }

    /** Hugging Face writes e.g. {@code {"total_size": 123}}: numbers and other non-strings become their JSON text. */
    private static Map<String, String> flattenMetadata(Path indexJson, JsonNode node) {
        if (node == null) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw CheckpointException.inFile(indexJson, "\"metadata\" is not a JSON object but " + node.getNodeType());
        }
        SequencedMap<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            JsonNode value = field.getValue();
            metadata.put(field.getKey(), value.isTextual() ? value.textValue() : value.toString());
        }
        return Collections.unmodifiableSequencedMap(metadata);
    }

    private static SequencedMap<String, String> weightMap(Path indexJson, JsonNode node) {
        if (node == null) {
            throw CheckpointException.inFile(indexJson, "index has no \"weight_map\"");
        }
        if (!node.isObject()) {
            throw CheckpointException.inFile(indexJson, "\"weight_map\" is not a JSON object but " + node.getNodeType());
        }
        if (node.isEmpty()) {
            throw CheckpointException.inFile(indexJson, "\"weight_map\" is empty");
        }
        SequencedMap<String, String> shardOf = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            JsonNode value = field.getValue();
            if (!value.isTextual()) {
                throw CheckpointException.inTensor(indexJson, field.getKey(), "weight_map value is not a file name: " + value);
            }
            checkPlainName(indexJson, field.getKey(), value.textValue());
            shardOf.put(field.getKey(), value.textValue());
        }
        return shardOf;
    }

    private static void checkPlainName(Path indexJson, String tensor, String shard) {
        boolean plain = !shard.isEmpty() && !shard.equals(".") && !shard.equals("..")
                && shard.indexOf('/') < 0 && shard.indexOf('\\') < 0 && shard.indexOf('\0') < 0
                && Path.of(shard).getNameCount() == 1 && !Path.of(shard).isAbsolute();
        if (!plain) {
            throw CheckpointException.inTensor(indexJson, tensor, "shard '" + shard
                    + "' is not a plain file name in the index's folder");
        }
    }

    @Override
    public Path path() {
        return index;
    }

    @Override
    public Set<String> names() {
        return byTensor.sequencedKeySet();
    }

    @Override
    public TensorInfo info(String name) {
        return shard(name).info(name);
    }

    @Override
    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    @Override
    public ByteBuffer data(String name) {
        return shard(name).data(name);
    }

    @Override
    public float[] floats(String name) {
        return shard(name).floats(name);
    }

    /** The shard file holding {@code name}; TensorInfo offsets are relative to this file. */
    public Path shardPath(String name) {
        return shard(name).path();
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        RuntimeException failure = null;
        for (SafetensorsFile shard : shards) {
            try {
                shard.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private SafetensorsFile shard(String name) {
        SafetensorsFile shard = byTensor.get(name);
        if (shard == null) {
            throw CheckpointException.inTensor(index, name, "no such tensor in this checkpoint ("
                    + byTensor.size() + " tensors)");
        }
        return shard;
    }

    @Override
    public String toString() {
        return "ShardedCheckpoint[" + index + ", " + byTensor.size() + " tensors in " + shards.size() + " shards]";
    }
}
