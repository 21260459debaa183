package dev.realign.export;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.SequencedMap;
import java.util.Set;

/**
 * Writes GGUF version 3, the file format of llama.cpp: a header ({@code "GGUF"}, version, tensor count,
 * metadata count), typed metadata key/value pairs, tensor infos (name, dimensions innermost first, type,
 * offset), padding to {@link #ALIGNMENT}, then each tensor's data, each starting on an aligned offset.
 * Everything is little-endian.
 *
 * <p>Tensors are given in the row-major shape Hugging Face and safetensors use (outermost first); the writer
 * reverses it into ggml's order, so a weight of shape (out, in) becomes {@code ne = [in, out]} with the same
 * bytes. Their data is produced one tensor at a time while writing, so a model larger than the heap can be
 * written. The file appears atomically: it is written beside the target and moved in place, and a failure
 * leaves no file behind.
 */
public final class GgufWriter {
    /** {@code "GGUF"} read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    public static final int VERSION = 3;
    /** Data alignment; written as {@code general.alignment}. llama.cpp's default is also 32. */
    public static final int ALIGNMENT = 32;
    /** ggml's GGML_MAX_NAME is 64 bytes including the terminating NUL. */
    public static final int MAX_TENSOR_NAME_BYTES = 63;
    /** ggml's GGML_MAX_DIMS. */
    public static final int MAX_DIMS = 4;

    /** GGUF metadata value types, with their ids in the file. */
    public enum ValueType {
        UINT8(0), INT8(1), UINT16(2), INT16(3), UINT32(4), INT32(5), FLOAT32(6), BOOL(7), STRING(8), ARRAY(9),
        UINT64(10), INT64(11), FLOAT64(12);

        private final int id;

        ValueType(int id) {
            this.id = id;
        }

        public int id() {
            return id;
        }
    }

    /** Tensor element types this writer produces, with their ggml type ids. */
    public enum TensorType {
        F32(0, 4), F16(1, 2);

        private final int id;
        private final int bytes;

        TensorType(int id, int bytes) {
            this.id = id;
            this.bytes = bytes;
        }

        public int id() {
            return id;
        }

        public int bytes() {
            return bytes;
        }
    }

    /** Produces one tensor's bytes (little-endian, row-major, exactly the tensor's size) when it is written. */
    @FunctionalInterface
    public interface Payload {
        ByteBuffer bytes();
    }

    private record Value(ValueType type, ValueType elementType, Object value) {}

    private record Tensor(String name, TensorType type, long[] shape, long byteSize, Payload payload) {}

    private final SequencedMap<String, Value> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();

    public GgufWriter putString(String key, String value) {
        return put(key, new Value(ValueType.STRING, null, Objects.requireNonNull(value, key)));
    }

    public GgufWriter putUInt32(String key, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(key + ": " + value + " does not fit a uint32");
        }
        return put(key, new Value(ValueType.UINT32, null, value));
    }

    public GgufWriter putInt32(String key, int value) {
        return put(key, new Value(ValueType.INT32, null, value));
    }

    public GgufWriter putUInt64(String key, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(key + ": " + value + " is negative");
        }
        return put(key, new Value(ValueType.UINT64, null, value));
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, new Value(ValueType.FLOAT32, null, value));
    }

    public GgufWriter putFloat64(String key, double value) {
        return put(key, new Value(ValueType.FLOAT64, null, value));
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, new Value(ValueType.BOOL, null, value));
    }

    public GgufWriter putStringArray(String key, List<String> values) {
        List<String> copy = List.copyOf(values);
        return put(key, new Value(ValueType.ARRAY, ValueType.STRING, copy));
    }

    public GgufWriter putInt32Array(String key, int[] values) {
        return put(key, new Value(ValueType.ARRAY, ValueType.INT32, values.clone()));
    }

    public GgufWriter putUInt32Array(String key, int[] values) {
        for (int v : values) {
            if (v < 0) {
                throw new IllegalArgumentException(key + ": " + v + " does not fit a uint32 array");
            }
        }
        return put(key, new Value(ValueType.ARRAY, ValueType.UINT32, values.clone()));
    }

    public GgufWriter putFloat32Array(String key, float[] values) {
        return put(key, new Value(ValueType.ARRAY, ValueType.FLOAT32, values.clone()));
    }

    private GgufWriter put(String key, Value value) {
        if (key == null || key.isEmpty() || !StandardCharsets.US_ASCII.newEncoder().canEncode(key)) {
            throw new IllegalArgumentException("metadata key must be non-empty ASCII, got '" + key + "'");
        }
        if (key.equals("general.alignment")) {
            throw new IllegalArgumentException("general.alignment is written by the writer (" + ALIGNMENT + ")");
        }
        if (metadata.putIfAbsent(key, value) != null) {
            throw new IllegalArgumentException("metadata key '" + key + "' given twice");
        }
        return this;
    }

    /** Whether {@code key} has been set. */
    public boolean hasKey(String key) {
        return metadata.containsKey(key);
    }

    /**
     * Adds a tensor, written in the order added.
     *
     * @param shape row-major dimensions, outermost first (as safetensors and NumPy give them)
     */
    public GgufWriter addTensor(String name, TensorType type, long[] shape, Payload payload) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(payload, "payload");
        int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (nameBytes == 0 || nameBytes > MAX_TENSOR_NAME_BYTES) {
            throw new IllegalArgumentException("tensor name '" + name + "' must have 1.." + MAX_TENSOR_NAME_BYTES
                    + " bytes (ggml's limit), has " + nameBytes);
        }
        if (shape.length == 0 || shape.length > MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "': ggml tensors have 1.." + MAX_DIMS
                    + " dimensions, got " + Arrays.toString(shape));
        }
        long numel = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor '" + name + "': dimensions must be positive, got "
                        + Arrays.toString(shape));
            }
            numel = Math.multiplyExact(numel, d);
        }
        if (!tensorNames.add(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' added twice");
        }
        tensors.add(new Tensor(name, type, shape.clone(), Math.multiplyExact(numel, type.bytes()), payload));
        return this;
    }

    public int tensorCount() {
        return tensors.size();
    }

    /**
     * Writes the file, replacing {@code file} if it exists.
     *
     * @return the file's size in bytes
     */
    public long write(Path file) {
        byte[] header = header();
        Path target = file.toAbsolutePath();
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        boolean done = false;
        try {
            Files.createDirectories(target.getParent());
            long position;
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(out, ByteBuffer.wrap(header));
                position = header.length;
                for (Tensor t : tensors) {
                    ByteBuffer data = t.payload().bytes();
                    if (data.remaining() != t.byteSize()) {
                        throw new IllegalStateException("tensor '" + t.name() + "' of shape " + Arrays.toString(t.shape())
                                + " and type " + t.type() + " needs " + t.byteSize() + " bytes, its payload gave "
                                + data.remaining());
                    }
                    writeFully(out, data.duplicate());
                    position += t.byteSize();
                    position += pad(out, position);
                }
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            done = true;
            return position;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the original failure is the one to report
                }
            }
        }
    }

    /** Header, metadata and tensor infos, padded so that the data section starts aligned. */
    private byte[] header() {
        LittleEndianBuffer b = new LittleEndianBuffer();
        b.u32(MAGIC);
        b.u32(VERSION);
        b.u64(tensors.size());
        b.u64(metadata.size() + 1L);
        for (var entry : metadata.entrySet()) {
            b.string(entry.getKey());
            Value v = entry.getValue();
            b.u32(v.type().id());
            if (v.type() == ValueType.ARRAY) {
                b.u32(v.elementType().id());
                writeArray(b, v.elementType(), v.value());
            } else {
                writeScalar(b, v.type(), v.value());
            }
        }
        b.string("general.alignment");
        b.u32(ValueType.UINT32.id());
        b.u32(ALIGNMENT);
        long offset = 0;
        for (Tensor t : tensors) {
            b.string(t.name());
            long[] shape = t.shape();
            b.u32(shape.length);
            for (int i = shape.length - 1; i >= 0; i--) {
                b.u64(shape[i]); // ggml's ne[0] is the innermost (contiguous) dimension
            }
            b.u32(t.type().id());
            b.u64(offset);
            offset = align(offset + t.byteSize());
        }
        while (b.size() % ALIGNMENT != 0) {
            b.u8(0);
        }
        return b.toByteArray();
    }

    private static void writeScalar(LittleEndianBuffer b, ValueType type, Object value) {
        switch (type) {
            case STRING -> b.string((String) value);
            case UINT32 -> b.u32((int) (long) (Long) value);
            case INT32 -> b.u32((Integer) value);
            case UINT64 -> b.u64((Long) value);
            case FLOAT32 -> b.u32(Float.floatToRawIntBits((Float) value));
            case FLOAT64 -> b.u64(Double.doubleToRawLongBits((Double) value));
            case BOOL -> b.u8((Boolean) value ? 1 : 0);
            default -> throw new IllegalStateException("no scalar writer for " + type);
        }
    }

    private static void writeArray(LittleEndianBuffer b, ValueType elementType, Object values) {
        switch (elementType) {
            case STRING -> {
                @SuppressWarnings("unchecked")
                List<String> strings = (List<String>) values;
                b.u64(strings.size());
                for (String s : strings) {
                    b.string(s);
                }
            }
            case INT32, UINT32 -> {
                int[] ints = (int[]) values;
                b.u64(ints.length);
                for (int i : ints) {
                    b.u32(i);
                }
            }
            case FLOAT32 -> {
                float[] floats = (float[]) values;
                b.u64(floats.length);
                for (float f : floats) {
                    b.u32(Float.floatToRawIntBits(f));
                }
            }
            default -> throw new IllegalStateException("no array writer for " + elementType);
        }
    }

    static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static long pad(FileChannel out, long position) throws IOException {
        int padding = (int) (align(position) - position);
        if (padding > 0) {
            writeFully(out, ByteBuffer.allocate(padding));
        }
        return padding;
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class LittleEndianBuffer {
        private ByteBuffer buffer = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(int more) {
            if (buffer.remaining() < more) {
                int capacity = Math.max(buffer.capacity() * 2, buffer.position() + more);
                ByteBuffer bigger = ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
                buffer.flip();
                bigger.put(buffer);
                buffer = bigger;
            }
        }

        void u8(int v) {
            ensure(1);
            buffer.put((byte) v);
        }

        void u32(int v) {
            ensure(4);
            buffer.putInt(v);
        }

        void u64(long v) {
            ensure(8);
            buffer.putLong(v);
        }

        void string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            u64(bytes.length);
            ensure(bytes.length);
            buffer.put(bytes);
        }

        int size() {
            return buffer.position();
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buffer.array(), buffer.position());
        }
    }
}
