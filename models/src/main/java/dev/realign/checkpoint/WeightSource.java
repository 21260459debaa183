package dev.realign.checkpoint;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * A set of named tensors: one safetensors file or a sharded checkpoint. The tensors are memory-mapped:
 * closing unmaps everything, and buffers handed out by {@link #data} die with it (using one afterwards
 * throws {@link IllegalStateException}; native code holding its address would crash, so close only after
 * everything built on the buffers is gone). Safe for concurrent readers.
 */
public interface WeightSource extends AutoCloseable {
    /** What was opened: the safetensors file, or the index file of a sharded checkpoint. */
    Path path();

    /** Tensor names in a stable order: header order for a file, {@code weight_map} order for an index. */
    Set<String> names();

    /** Where the tensor lives; a {@link CheckpointException} naming the path and tensor if it is absent. */
    TensorInfo info(String name);

    boolean contains(String name);

    /**
     * The tensor's bytes: a read-only, little-endian, direct (mapped) buffer of exactly
     * {@code info(name).byteSize()} bytes, position 0. Each call returns a new buffer, so callers may move
     * its position freely. A tensor of 2 GiB or more does not fit a ByteBuffer and is a CheckpointException.
     */
    ByteBuffer data(String name);

    /** A copy of a floating tensor (F32, F16, BF16, F64) as floats; for tests and small tensors. */
    float[] floats(String name);

    /**
     * A file's {@code __metadata__}, or an index's {@code metadata} with every value as a string (non-string
     * JSON values as their JSON text). Empty if there is none.
     */
    Map<String, String> metadata();

    /** Unmaps everything; idempotent. */
    @Override
    void close();
}
