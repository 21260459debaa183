package dev.realign.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Conversions between the floating types of checkpoints. BF16 is converted here in Java because DJL's
 * PyTorch engine aborts the JVM on BFLOAT16 arrays (DESIGN §7).
 */
public final class FloatConversions {
    private FloatConversions() {}

    /** bf16 is the upper half of an fp32: widening is a 16-bit shift. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Round to nearest even, keeping NaN a NaN. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** Reads {@code count} elements of {@code dtype} from {@code source} (little-endian) as floats. */
    public static float[] toFloats(DType dtype, ByteBuffer source, int count) {
        ByteBuffer in = source.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[count];
        switch (dtype) {
            case F32 -> in.asFloatBuffer().get(out);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = Float.float16ToFloat(in.getShort());
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = bf16ToFloat(in.getShort());
                }
            }
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = (float) in.getDouble();
                }
            }
            default -> throw new IllegalArgumentException("not a floating type: " + dtype);
        }
        return out;
    }

    /**
     * Widens a BF16 buffer into a new direct little-endian F32 buffer (for handing to DJL without a BF16 array).
     */
    public static ByteBuffer bf16ToF32Direct(ByteBuffer bf16, long count) {
        ByteBuffer in = bf16.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocateDirect(Math.toIntExact(count * 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < count; i++) {
            out.putInt((in.getShort() & 0xffff) << 16);
        }
        return out.flip();
    }
}
