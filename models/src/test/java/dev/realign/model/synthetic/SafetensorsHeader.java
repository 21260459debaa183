package dev.realign.model.synthetic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Just enough of a safetensors reader for tests to check what was written, independent of the project's
 * reader: the header's tensors and the raw bytes of one tensor.
 */
record SafetensorsHeader(Path file, long dataStart, SequencedMap<String, Tensor> tensors) {
    record Tensor(String dtype, long[] shape, long begin, long end) {}

    static SafetensorsHeader read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(length, 0);
            long headerLength = length.flip().getLong();
            ByteBuffer json = ByteBuffer.allocate(Math.toIntExact(headerLength));
            channel.read(json, 8);
            JsonNode root = new ObjectMapper().readTree(json.array());
            SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> entry : root.properties()) {
                if (entry.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode t = entry.getValue();
                long[] shape = new long[t.get("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = t.get("shape").get(i).asLong();
                }
                tensors.put(entry.getKey(), new Tensor(t.get("dtype").asText(), shape,
                        t.get("data_offsets").get(0).asLong(), t.get("data_offsets").get(1).asLong()));
            }
            return new SafetensorsHeader(file, 8 + headerLength, tensors);
        }
    }

    /** The tensor's values as floats (F32, F16 or BF16). */
    float[] floats(String name) throws IOException {
        Tensor t = tensors.get(name);
        try (FileChannel channel = FileChannel.open(file)) {
            ByteBuffer bytes = ByteBuffer.allocate(Math.toIntExact(t.end() - t.begin())).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(bytes, dataStart + t.begin());
            bytes.flip();
            int size = t.dtype().equals("F32") ? 4 : 2;
            float[] out = new float[bytes.remaining() / size];
            for (int i = 0; i < out.length; i++) {
                out[i] = switch (t.dtype()) {
                    case "F32" -> bytes.getFloat();
                    case "F16" -> Float.float16ToFloat(bytes.getShort());
                    case "BF16" -> Float.intBitsToFloat((bytes.getShort() & 0xffff) << 16);
                    default -> throw new IllegalArgumentException(t.dtype());
                };
            }
            return out;
        }
    }
}
