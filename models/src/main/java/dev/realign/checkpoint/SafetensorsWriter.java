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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeMap;

/**
 * Writes the safetensors format: an 8-byte little-endian header length, a JSON header of
 * {@code name -> {dtype, shape, data_offsets}} (plus {@code __metadata__}), padded with spaces to a
 * multiple of 8, then the tensor bytes in header order. The file appears atomically (written beside, then moved).
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {}

    public static void write(Path file, SequencedMap<String, TensorData> tensors, Map<String, String> metadata) {
        SequencedMap<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put("__metadata__", new TreeMap<>(metadata));
        }
        long offset = 0;
        for (var entry : tensors.entrySet()) {
            TensorData t = entry.getValue();
            long size = t.bytes().remaining();
            // Ordered maps: the same tensors always give the same bytes.
            SequencedMap<String, Object> fields = new LinkedHashMap<>();
            fields.put("dtype", t.dtype().safetensorsName());
            fields.put("shape", t.shape());
            fields.put("data_offsets", List.of(offset, offset + size));
            header.put(entry.getKey(), fields);
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
        prefix.flip();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(out, prefix);
                for (TensorData t : tensors.values()) {
                    writeFully(out, t.bytes().duplicate());
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    public static void write(Path file, SequencedMap<String, TensorData> tensors) {
        write(file, tensors, Map.of());
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
