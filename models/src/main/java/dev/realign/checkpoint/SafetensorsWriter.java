package dev.realign.checkpoint;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Writes in-memory tensors in the safetensors format (an 8-byte little-endian header length, a JSON header
 * of {@code name -> {dtype, shape, data_offsets}} plus {@code __metadata__}, then the bytes in header order).
 * The format itself is {@link SafetensorsStreamWriter}'s; this is its convenience for tensors already in memory.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    public static void write(Path file, SequencedMap<String, TensorData> tensors, Map<String, String> metadata) {
        List<SafetensorsStreamWriter.Entry> layout = new ArrayList<>(tensors.size());
        tensors.forEach((name, t) -> layout.add(new SafetensorsStreamWriter.Entry(name, t.dtype(), t.shape())));
        SafetensorsStreamWriter.write(file, layout, metadata, entry -> {
            ByteBuffer bytes = tensors.get(entry.name()).bytes().duplicate();
            return chunk -> {
                ByteBuffer part = bytes.slice(bytes.position(), chunk.remaining());
                chunk.put(part);
                bytes.position(bytes.position() + part.capacity());
            };
        });
    }

    public static void write(Path file, SequencedMap<String, TensorData> tensors) {
        write(file, tensors, Map.of());
    }
}
