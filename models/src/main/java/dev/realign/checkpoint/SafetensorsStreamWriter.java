package dev.realign.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedMap;
import java.util.TreeMap;

/**
 * Writes a safetensors file whose tensors are produced one after another, in chunks, so that a checkpoint
 * larger than the heap can be written: memory use is one chunk buffer, whatever the file size. The header is
 * known up front from names, types and shapes. Same format as {@link SafetensorsWriter} (which takes tensors
 * already in memory); the file appears atomically.
 */
public final class SafetensorsStreamWriter {
    /** Bytes handed to a {@link TensorStream} at a time; a multiple of every element size. */
    static final int CHUNK_BYTES = 16 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsStreamWriter() {}

    /** One tensor of the layout. */
    public record Entry(String name, DType dtype, long[] shape) {
        public Entry {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(dtype, "dtype");
            shape = shape.clone();
            if (Arrays.stream(shape).anyMatch(d -> d < 0)) {
                throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
            }
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public long numel() {
            return TensorData.numel(shape);
        }

        public long byteSize() {
            return Math.multiplyExact(numel(), dtype.bytes());
        }
    }

    /** Produces one tensor's bytes in order. */
    @FunctionalInterface
    public interface TensorStream {
        /**
         * Fills {@code chunk} from its position to its limit (little-endian, whole elements) with the next
         * bytes of the tensor.
         */
        void fill(ByteBuffer chunk);
    }

    /** Opens the stream of each tensor when its turn comes. */
    @FunctionalInterface
    public interface TensorSource {
        TensorStream open(Entry entry);
    }

    public static void write(Path file, List<Entry> layout, Map<String, String> metadata, TensorSource source) {
        ByteBuffer header = header(layout, metadata);
        ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(out, header);
                for (Entry entry : layout) {
                    TensorStream stream = source.open(entry);
                    long remaining = entry.byteSize();
                    while (remaining > 0) {
                        int n = (int) Math.min(CHUNK_BYTES, remaining);
                        chunk.clear().limit(n);
                        stream.fill(chunk);
                        if (chunk.hasRemaining()) {
                            throw new IllegalStateException("tensor '" + entry.name() + "': stream left "
                                    + chunk.remaining() + " bytes of a chunk unfilled");
                        }
                        chunk.flip();
                        writeFully(out, chunk);
                        remaining -= n;
                    }
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static ByteBuffer header(List<Entry> layout, Map<String, String> metadata) {
        SequencedMap<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put("__metadata__", new TreeMap<>(metadata));
        }
        long offset = 0;
        for (Entry entry : layout) {
            long size = entry.byteSize();
            if (header.containsKey(entry.name())) {
                throw new IllegalArgumentException("tensor '" + entry.name() + "' appears twice in the layout");
            }
            // A LinkedHashMap, not Map.of: Map.of's iteration order changes from one JVM run to the next,
            // and the same tensors must give a byte-identical file.
            SequencedMap<String, Object> fields = new LinkedHashMap<>();
            fields.put("dtype", entry.dtype().safetensorsName());
            fields.put("shape", entry.shape());
            fields.put("data_offsets", List.of(offset, offset + size));
            header.put(entry.name(), fields);
            offset += size;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(padded).put(json);
        while (prefix.hasRemaining()) {
            prefix.put((byte) ' ');
        }
        return prefix.flip();
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
