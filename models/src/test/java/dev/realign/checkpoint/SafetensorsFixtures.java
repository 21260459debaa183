package dev.realign.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builders for safetensors files and tensors in tests, including files no writer would produce. */
final class SafetensorsFixtures {
    private SafetensorsFixtures() {}

    /** A file with the given header JSON (its true length in the prefix) followed by {@code dataBytes} bytes. */
    static Path rawFile(Path file, String headerJson, int dataBytes) {
        byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
        return rawFile(file, header.length, header, dataBytes);
    }

    /** A file whose 8-byte prefix says {@code headerLength}, whatever the header bytes really are. */
    static Path rawFile(Path file, long headerLength, byte[] header, int dataBytes) {
        ByteBuffer bytes = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(headerLength).put(header);
        for (int i = 0; bytes.hasRemaining(); i++) {
            bytes.put((byte) i);
        }
        return write(file, bytes.array());
    }

    static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static TensorData f16(float[] values, long... shape) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buffer.putShort(Float.floatToFloat16(v));
        }
        return new TensorData(DType.F16, shape, buffer.flip());
    }

    static TensorData bf16(float[] values, long... shape) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buffer.putShort(FloatConversions.floatToBf16(v));
        }
        return new TensorData(DType.BF16, shape, buffer.flip());
    }

    static TensorData i32(int[] values, long... shape) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            buffer.putInt(v);
        }
        return new TensorData(DType.I32, shape, buffer.flip());
    }

    static float[] f16RoundTrip(float[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.float16ToFloat(Float.floatToFloat16(values[i]));
        }
        return out;
    }

    static float[] bf16RoundTrip(float[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = FloatConversions.bf16ToFloat(FloatConversions.floatToBf16(values[i]));
        }
        return out;
    }

    static byte[] bytesOf(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
