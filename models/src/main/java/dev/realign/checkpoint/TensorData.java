package dev.realign.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One tensor's bytes in memory, little-endian, row-major, ready to be written to a checkpoint.
 *
 * @param dtype element type of {@code bytes}
 * @param shape dimensions, outermost first
 * @param bytes exactly {@code numel * dtype.bytes()} bytes from position 0
 */
public record TensorData(DType dtype, long[] shape, ByteBuffer bytes) {
    public TensorData {
        shape = shape.clone();
        long expected = Math.multiplyExact(numel(shape), dtype.bytes());
        if (bytes.remaining() != expected) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " and dtype "
                    + dtype + " needs " + expected + " bytes, got " + bytes.remaining());
        }
        bytes = bytes.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    public static TensorData ofFloats(float[] values, long... shape) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return new TensorData(DType.F32, shape, buffer);
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long numel() {
        return numel(shape);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The values as floats, converting F16 and BF16; fails for integer types. */
    public float[] toFloats() {
        return FloatConversions.toFloats(dtype, bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN), Math.toIntExact(numel()));
    }
}
