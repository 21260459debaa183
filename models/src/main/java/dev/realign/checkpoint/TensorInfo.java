package dev.realign.checkpoint;

import java.util.Arrays;
import java.util.Objects;

/**
 * Where a tensor lives inside one safetensors file.
 *
 * @param name  the tensor's name in the header
 * @param dtype element type
 * @param shape dimensions, outermost first (a scalar has none)
 * @param begin absolute byte offset of the first byte in the file (not relative to the data section)
 * @param end   absolute byte offset one past the last byte; {@code end - begin == byteSize()}
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
        }
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("bad byte range [" + begin + ", " + end + ")");
        }
        // The reader checks this against the header with a proper message; here it keeps hand-made values honest.
        long expected = Math.multiplyExact(TensorData.numel(shape), dtype.bytes());
        if (end - begin != expected) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " of " + dtype + " needs "
                    + expected + " bytes, range holds " + (end - begin));
        }
    }

    /** Number of elements: the product of the shape (1 for a scalar). */
    public long numel() {
        return TensorData.numel(shape);
    }

    /** Size in bytes, {@code end - begin}. */
    public long byteSize() {
        return end - begin;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    // Records compare arrays by identity; a value type should compare the shape's contents.
    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return "TensorInfo[" + name + ", " + dtype + ", " + Arrays.toString(shape) + ", [" + begin + ", " + end + ")]";
    }
}
