package dev.realign.model.matvec;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The decode kernel: y = x W^T for a few rows of x, reading W (out, in) once from native memory and
 * accumulating in fp32. It computes a range of output features so that {@link KernelThreads} can split a
 * product across cores. Single-threaded and allocation-free; every method is static.
 *
 * <p>Why two loops: with one input row (the common decode step) four weight rows share each load of x
 * and give four independent accumulators; with several input rows each weight chunk is loaded once and
 * multiplied into four input rows, so the weight is read from memory once per call either way.
 */
final class MatVec {
    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, FLOATS.vectorShape());
    /** Half as many bits as FLOATS: one load of halves widens to one float vector. */
    private static final VectorSpecies<Short> HALVES =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));
    private static final int LANES = FLOATS.length();
    /** Lane i takes lane i + k (mod LANES): the folds of {@link #sumLanes}, for up to 64 lanes (2048-bit SVE). */
    private static final VectorShuffle<Float> FOLD_32 = VectorShuffle.fromOp(FLOATS, i -> (i + 32) % LANES);
    private static final VectorShuffle<Float> FOLD_16 = VectorShuffle.fromOp(FLOATS, i -> (i + 16) % LANES);
    private static final VectorShuffle<Float> FOLD_8 = VectorShuffle.fromOp(FLOATS, i -> (i + 8) % LANES);
    private static final VectorShuffle<Float> FOLD_4 = VectorShuffle.fromOp(FLOATS, i -> (i + 4) % LANES);
    private static final VectorShuffle<Float> FOLD_2 = VectorShuffle.fromOp(FLOATS, i -> (i + 2) % LANES);
    private static final VectorShuffle<Float> FOLD_1 = VectorShuffle.fromOp(FLOATS, i -> (i + 1) % LANES);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    /**
     * 2^112 = 2^(127 - 15) rebiases a binary16 exponent shifted into binary32 position; half of it scales
     * x, half the sums.
     */
    private static final float INPUT_SCALE = 0x1p56f;
    private static final float SUM_SCALE = 0x1p56f;

    private MatVec() {}

    /**
     * y[r, o] = sum_i W[o, i] x[r, i] for output features o in [from, to) and every row r.
     *
     * @param x    (rows, in) row-major, as {@link #input} returns it
     * @param y    (rows, out) row-major; only columns [from, to) are written
     */
    static void multiply(WeightView w, float[] x, int rows, float[] y, int from, int to) {
        boolean half = w.type() == WeightType.F16;
        if (rows == 1) {
            if (half) {
                oneRowF16(w.data(), w.inFeatures(), x, y, from, to);
            } else {
                oneRowF32(w.data(), w.inFeatures(), x, y, from, to);
            }
        } else {
            for (int r0 = 0; r0 < rows; r0 += 4) {
                if (half) {
                    fourRowsF16(w.data(), w.inFeatures(), w.outFeatures(), x, rows, r0, y, from, to);
                } else {
                    fourRowsF32(w.data(), w.inFeatures(), w.outFeatures(), x, rows, r0, y, from, to);
                }
            }
        }
    }

    /**
     * A vector of finite binary16 values as fp32 values 2^-112 times theirs, exactly: the sign-extended 16
     * bits shifted left by 13 put the sign at bit 31 and exponent and mantissa in fp32 position (the mask
     * drops the copies of the sign between them); read as fp32, the exponent is short of its bias by 112.
     * Half subnormals come out as fp32 subnormals, exactly. The missing 2^112 is applied to x and to the
     * sums instead (see {@link #input}), which saves a multiply per weight vector. Infinities and NaNs would
     * come out as finite values: {@link WeightViews} declines matrices that hold them ({@link #allFinite}).
     *
     * <p>Why this way: JDK 25's Vector API has no half-to-float conversion operator. A fuller conversion
     * (masks and blends for Inf/NaN) pushed the four-row loop past C2's inlining budget, after which vector
     * operations were no longer intrinsified: it ran 4-5x slower. Widening a block into a float buffer
     * first (vector or {@link Float#float16ToFloat}) ran at 1/3 to 1/10 of this (docs/benchmarks.md).
     */
    static FloatVector halfToScaledFloat(MemorySegment w, long byteOffset) {
        IntVector bits = (IntVector) ShortVector.fromMemorySegment(HALVES, w, byteOffset, LE)
                .convertShape(VectorOperators.S2I, INTS, 0);                // sign-extended
        return bits.lanewise(VectorOperators.LSHL, 13).and(0x8fffe000).reinterpretAsFloats();
    }

    /**
     * The input as the kernel multiplies it: x itself for F32; for F16, x times 2^56, the other 2^56 of the
     * 2^112 that {@link #halfToScaledFloat} leaves out being applied to each sum. (All of 2^112 on x would
     * overflow fp32 for |x| > 2^16; split, products stay normal unless |w x| < 2^-70.)
     */
    static float[] input(WeightView w, float[] x) {
        if (w.type() != WeightType.F16) {
            return x;
        }
        float[] scaled = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            scaled[i] = x[i] * INPUT_SCALE;
        }
        return scaled;
    }

    /** One half as {@link #halfToScaledFloat} widens it, for the tails. */
    private static float scaledHalf(short half) {
        return Float.intBitsToFloat((half << 13) & 0x8fffe000);
    }

    /** Whether a segment of binary16 values holds no Inf or NaN (exponent bits all ones). */
    static boolean allFinite(MemorySegment halves) {
        long count = halves.byteSize() / Short.BYTES;
        long end = count - count % HALVES.length();
        for (long i = 0; i < end; i += HALVES.length()) {
            ShortVector v = ShortVector.fromMemorySegment(HALVES, halves, i * Short.BYTES, LE);
            if (v.and((short) 0x7c00).compare(VectorOperators.EQ, (short) 0x7c00).anyTrue()) {
                return false;
            }
        }
        for (long i = end; i < count; i++) {
            if ((halves.get(F16, i * Short.BYTES) & 0x7c00) == 0x7c00) {
                return false;
            }
        }
        return true;
    }

    private static void oneRowF32(MemorySegment w, int in, float[] x, float[] y, int from, int to) {
        int end = FLOATS.loopBound(in);
        long row = (long) in * Float.BYTES;
        int o = from;
        for (; o + 4 <= to; o += 4) {
            long b0 = o * row;
            long b1 = b0 + row;
            long b2 = b1 + row;
            long b3 = b2 + row;
            FloatVector a0 = FloatVector.zero(FLOATS);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int i = 0; i < end; i += LANES) {
                FloatVector xv = FloatVector.fromArray(FLOATS, x, i);
                long off = (long) i * Float.BYTES;
                a0 = FloatVector.fromMemorySegment(FLOATS, w, b0 + off, LE).fma(xv, a0);
                a1 = FloatVector.fromMemorySegment(FLOATS, w, b1 + off, LE).fma(xv, a1);
                a2 = FloatVector.fromMemorySegment(FLOATS, w, b2 + off, LE).fma(xv, a2);
                a3 = FloatVector.fromMemorySegment(FLOATS, w, b3 + off, LE).fma(xv, a3);
            }
            float s0 = sumLanes(a0);
            float s1 = sumLanes(a1);
            float s2 = sumLanes(a2);
            float s3 = sumLanes(a3);
            for (int i = end; i < in; i++) {
                float xi = x[i];
                long off = (long) i * Float.BYTES;
                s0 += w.get(F32, b0 + off) * xi;
                s1 += w.get(F32, b1 + off) * xi;
                s2 += w.get(F32, b2 + off) * xi;
                s3 += w.get(F32, b3 + off) * xi;
            }
            y[o] = s0;
            y[o + 1] = s1;
            y[o + 2] = s2;
            y[o + 3] = s3;
        }
        for (; o < to; o++) {
            long b = o * row;
            FloatVector a = FloatVector.zero(FLOATS);
            for (int i = 0; i < end; i += LANES) {
                a = FloatVector.fromMemorySegment(FLOATS, w, b + (long) i * Float.BYTES, LE)
                        .fma(FloatVector.fromArray(FLOATS, x, i), a);
            }
            float s = sumLanes(a);
            for (int i = end; i < in; i++) {
                s += w.get(F32, b + (long) i * Float.BYTES) * x[i];
            }
            y[o] = s;
        }
    }

    private static void oneRowF16(MemorySegment w, int in, float[] x, float[] y, int from, int to) {
        int end = FLOATS.loopBound(in);
        long row = (long) in * Short.BYTES;
        int o = from;
        for (; o + 4 <= to; o += 4) {
            long b0 = o * row;
            long b1 = b0 + row;
            long b2 = b1 + row;
            long b3 = b2 + row;
            FloatVector a0 = FloatVector.zero(FLOATS);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int i = 0; i < end; i += LANES) {
                FloatVector xv = FloatVector.fromArray(FLOATS, x, i);
                long off = (long) i * Short.BYTES;
                a0 = halfToScaledFloat(w, b0 + off).fma(xv, a0);
                a1 = halfToScaledFloat(w, b1 + off).fma(xv, a1);
                a2 = halfToScaledFloat(w, b2 + off).fma(xv, a2);
                a3 = halfToScaledFloat(w, b3 + off).fma(xv, a3);
            }
            float s0 = sumLanes(a0);
            float s1 = sumLanes(a1);
            float s2 = sumLanes(a2);
            float s3 = sumLanes(a3);
            for (int i = end; i < in; i++) {
                float xi = x[i];
                long off = (long) i * Short.BYTES;
                s0 += scaledHalf(w.get(F16, b0 + off)) * xi;
                s1 += scaledHalf(w.get(F16, b1 + off)) * xi;
                s2 += scaledHalf(w.get(F16, b2 + off)) * xi;
                s3 += scaledHalf(w.get(F16, b3 + off)) * xi;
            }
            y[o] = s0 * SUM_SCALE;
            y[o + 1] = s1 * SUM_SCALE;
            y[o + 2] = s2 * SUM_SCALE;
            y[o + 3] = s3 * SUM_SCALE;
        }
        for (; o < to; o++) {
            long b = o * row;
            FloatVector a = FloatVector.zero(FLOATS);
            for (int i = 0; i < end; i += LANES) {
                a = halfToScaledFloat(w, b + (long) i * Short.BYTES).fma(FloatVector.fromArray(FLOATS, x, i), a);
            }
            float s = sumLanes(a);
            for (int i = end; i < in; i++) {
                s += scaledHalf(w.get(F16, b + (long) i * Short.BYTES)) * x[i];
            }
            y[o] = s * SUM_SCALE;
        }
    }

    /**
     * Input rows r0..r0+3 against output features [from, to). Rows past the last are computed on the last
     * row again and not stored, so no padding is needed.
     */
    private static void fourRowsF32(MemorySegment w, int in, int out, float[] x, int rows, int r0,
                                    float[] y, int from, int to) {
        int end = FLOATS.loopBound(in);
        int x0 = r0 * in;
        int x1 = Math.min(r0 + 1, rows - 1) * in;
        int x2 = Math.min(r0 + 2, rows - 1) * in;
        int x3 = Math.min(r0 + 3, rows - 1) * in;
        long row = (long) in * Float.BYTES;
        for (int o = from; o < to; o++) {
            long b = o * row;
            FloatVector a0 = FloatVector.zero(FLOATS);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int i = 0; i < end; i += LANES) {
                FloatVector wv = FloatVector.fromMemorySegment(FLOATS, w, b + (long) i * Float.BYTES, LE);
                a0 = wv.fma(FloatVector.fromArray(FLOATS, x, x0 + i), a0);
                a1 = wv.fma(FloatVector.fromArray(FLOATS, x, x1 + i), a1);
                a2 = wv.fma(FloatVector.fromArray(FLOATS, x, x2 + i), a2);
                a3 = wv.fma(FloatVector.fromArray(FLOATS, x, x3 + i), a3);
            }
            float s0 = sumLanes(a0);
            float s1 = sumLanes(a1);
            float s2 = sumLanes(a2);
            float s3 = sumLanes(a3);
            for (int i = end; i < in; i++) {
                float wi = w.get(F32, b + (long) i * Float.BYTES);
                s0 += wi * x[x0 + i];
                s1 += wi * x[x1 + i];
                s2 += wi * x[x2 + i];
                s3 += wi * x[x3 + i];
            }
            store(y, out, rows, r0, o, s0, s1, s2, s3);
        }
    }

    private static void fourRowsF16(MemorySegment w, int in, int out, float[] x, int rows, int r0,
                                    float[] y, int from, int to) {
        int end = FLOATS.loopBound(in);
        int x0 = r0 * in;
        int x1 = Math.min(r0 + 1, rows - 1) * in;
        int x2 = Math.min(r0 + 2, rows - 1) * in;
        int x3 = Math.min(r0 + 3, rows - 1) * in;
        long row = (long) in * Short.BYTES;
        for (int o = from; o < to; o++) {
            long b = o * row;
            FloatVector a0 = FloatVector.zero(FLOATS);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int i = 0; i < end; i += LANES) {
                FloatVector wv = halfToScaledFloat(w, b + (long) i * Short.BYTES);
                a0 = wv.fma(FloatVector.fromArray(FLOATS, x, x0 + i), a0);
                a1 = wv.fma(FloatVector.fromArray(FLOATS, x, x1 + i), a1);
                a2 = wv.fma(FloatVector.fromArray(FLOATS, x, x2 + i), a2);
                a3 = wv.fma(FloatVector.fromArray(FLOATS, x, x3 + i), a3);
            }
            float s0 = sumLanes(a0);
            float s1 = sumLanes(a1);
            float s2 = sumLanes(a2);
            float s3 = sumLanes(a3);
            for (int i = end; i < in; i++) {
                float wi = scaledHalf(w.get(F16, b + (long) i * Short.BYTES));
                s0 += wi * x[x0 + i];
                s1 += wi * x[x1 + i];
                s2 += wi * x[x2 + i];
                s3 += wi * x[x3 + i];
            }
            store(y, out, rows, r0, o, s0 * SUM_SCALE, s1 * SUM_SCALE, s2 * SUM_SCALE, s3 * SUM_SCALE);
        }
    }

    /**
     * The sum of a vector's lanes in one fixed order: the upper half folded onto the lower until one lane is
     * left, (v0 + v8) + (v4 + v12) + ... for 16 lanes. Why not {@code reduceLanes(ADD)}: the Vector API leaves
     * its order open, and the JIT's intrinsic sums in another order than the Java code it replaces, so the
     * same product changed in its last bits once the kernel was compiled (after a few hundred calls here), and
     * greedy decoding could depend on how warm the JVM was. Lane-wise adds and rearranges are exact in every
     * tier. Only the low lane is meaningful; the others hold partial sums. Vectors are at most 2048 bits (ARM
     * SVE), 64 floats: six folds cover every species, and the ones wider than the species fold away.
     */
    static float sumLanes(FloatVector v) {
        if (LANES > 32) {
            v = v.add(v.rearrange(FOLD_32));
        }
        if (LANES > 16) {
            v = v.add(v.rearrange(FOLD_16));
        }
        if (LANES > 8) {
            v = v.add(v.rearrange(FOLD_8));
        }
        if (LANES > 4) {
            v = v.add(v.rearrange(FOLD_4));
        }
        if (LANES > 2) {
            v = v.add(v.rearrange(FOLD_2));
        }
        if (LANES > 1) {
            v = v.add(v.rearrange(FOLD_1));
        }
        return v.lane(0);
    }

    private static void store(float[] y, int out, int rows, int r0, int o, float s0, float s1, float s2, float s3) {
        y[r0 * out + o] = s0;
        if (r0 + 1 < rows) {
            y[(r0 + 1) * out + o] = s1;
        }
        if (r0 + 2 < rows) {
            y[(r0 + 2) * out + o] = s2;
        }
        if (r0 + 3 < rows) {
            y[(r0 + 3) * out + o] = s3;
        }
    }
}
