package dev.realign.export;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * An independent GGUF v3 reader for tests: parses what {@link GgufWriter} wrote straight from the
 * specification (header, typed key/values, tensor infos, aligned data), so writer and exporter are checked
 * against the format rather than against themselves. Reads the whole file into memory; test files only.
 */
final class GgufReader {
    /** ggml dims are innermost first: {@code ne[0]} is the contiguous one. */
    record TensorEntry(String name, long[] ne, int type, long offset) {
        long numel() {
            long n = 1;
            for (long d : ne) {
                n *= d;
            }
            return n;
        }
    }

    final int version;
    final SequencedMap<String, Object> metadata = new LinkedHashMap<>();
    final SequencedMap<String, Integer> valueTypes = new LinkedHashMap<>();
    final SequencedMap<String, TensorEntry> tensors = new LinkedHashMap<>();
    final long dataStart;
    private final ByteBuffer file;

    private GgufReader(ByteBuffer b) {
        this.file = b;
        int magic = b.getInt();
        if (magic != 0x46554747) {
            throw new IllegalStateException("bad magic " + Integer.toHexString(magic));
        }
        version = b.getInt();
        long tensorCount = b.getLong();
        long kvCount = b.getLong();
        for (long i = 0; i < kvCount; i++) {
            String key = string(b);
            int type = b.getInt();
            valueTypes.put(key, type);
            if (metadata.put(key, value(b, type)) != null) {
                throw new IllegalStateException("duplicate key " + key);
            }
        }
        for (long i = 0; i < tensorCount; i++) {
            String name = string(b);
            int dims = b.getInt();
            long[] ne = new long[dims];
            for (int d = 0; d < dims; d++) {
                ne[d] = b.getLong();
            }
            int type = b.getInt();
            long offset = b.getLong();
            tensors.put(name, new TensorEntry(name, ne, type, offset));
        }
        long alignment = ((Number) metadata.getOrDefault("general.alignment", 32L)).longValue();
        long position = b.position();
        dataStart = (position + alignment - 1) / alignment * alignment;
    }

    static GgufReader read(Path path) {
        try (FileChannel channel = FileChannel.open(path)) {
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(channel.size())).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && channel.read(b) >= 0) {
                // fill
            }
            b.flip();
            return new GgufReader(b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    long fileSize() {
        return file.limit();
    }

    @SuppressWarnings("unchecked")
    <T> T get(String key) {
        if (!metadata.containsKey(key)) {
            throw new IllegalArgumentException("no key " + key + " in " + metadata.keySet());
        }
        return (T) metadata.get(key);
    }

    /** A tensor's values as floats (F32 or F16), in ggml order (which is row-major of the reversed dims). */
    float[] floats(String name) {
        TensorEntry t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor " + name + " in " + tensors.keySet());
        }
        ByteBuffer data = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        data.position(Math.toIntExact(dataStart + t.offset()));
        float[] out = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (t.type()) {
                case 0 -> data.getFloat();
                case 1 -> Float.float16ToFloat(data.getShort());
                default -> throw new IllegalStateException("type " + t.type());
            };
        }
        return out;
    }

    private static Object value(ByteBuffer b, int type) {
        return switch (type) {
            case 0 -> (long) (b.get() & 0xff);
            case 1 -> (long) b.get();
            case 2 -> (long) (b.getShort() & 0xffff);
            case 3 -> (long) b.getShort();
            case 4 -> b.getInt() & 0xffffffffL;
            case 5 -> (long) b.getInt();
            case 6 -> b.getFloat();
            case 7 -> {
                int v = b.get();
                if (v != 0 && v != 1) {
                    throw new IllegalStateException("bool byte " + v);
                }
                yield v == 1;
            }
            case 8 -> string(b);
            case 9 -> {
                int elementType = b.getInt();
                long count = b.getLong();
                List<Object> values = new ArrayList<>();
                for (long i = 0; i < count; i++) {
                    values.add(value(b, elementType));
                }
                yield Collections.unmodifiableList(values);
            }
            case 10, 11 -> b.getLong();
            case 12 -> b.getDouble();
            default -> throw new IllegalStateException("unknown value type " + type);
        };
    }

    private static String string(ByteBuffer b) {
        long length = b.getLong();
        byte[] bytes = new byte[Math.toIntExact(length)];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    Map<String, Object> metadata() {
        return metadata;
    }
}
