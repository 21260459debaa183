package dev.realign.model.matvec;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The kernel against a double-precision loop, on shapes that are not multiples of the vector length. */
class MatVecTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Property(tries = 200)
    void matchesDoublePrecisionLoop(@ForAll @IntRange(min = 1, max = 70) int out,
                                    @ForAll @IntRange(min = 1, max = 150) int in,
                                    @ForAll @IntRange(min = 1, max = 8) int rows,
                                    @ForAll boolean half, @ForAll long seed) {
        check(out, in, rows, half ? WeightType.F16 : WeightType.F32, seed, new KernelThreads(1));
    }

    @Test
    void oddShapesAtModelWidthsAndEveryRowCount() {
        int[][] shapes = {{1, 1}, {3, 7}, {5, 17}, {4, 33}, {131, 897}, {67, 4865}, {896, 896}, {9, 16}, {13, 31}};
        KernelThreads team = new KernelThreads(3); // three shares: uneven splits, a share may be empty
        for (int[] s : shapes) {
            for (int rows = 1; rows <= 8; rows++) {
                for (WeightType type : WeightType.values()) {
                    check(s[0], s[1], rows, type, 31L * s[0] + s[1] + rows, team);
                    check(s[0], s[1], rows, type, 7L * s[0] + s[1] + rows, KernelThreads.shared());
                }
            }
        }
    }

    @Test
    void halfWideningIsExactOnEveryFiniteBitPattern() {
        try (Arena arena = Arena.ofConfined()) {
            int lanes = MatVec.FLOATS.length();
            MemorySegment all = arena.allocate(65536L * 2);
            for (int h = 0; h < 65536; h++) {
                all.set(F16, 2L * h, (short) h);
            }
            for (int h = 0; h < 65536; h += lanes) {
                float[] got = MatVec.halfToScaledFloat(all, 2L * h).toArray();
                for (int k = 0; k < lanes; k++) {
                    short bits = (short) (h + k);
                    if ((bits & 0x7c00) == 0x7c00) {
                        assertThat(MatVec.allFinite(all.asSlice(2L * (h + k), 2))).as("half 0x%04x", bits).isFalse();
                        continue;
                    }
                    assertThat(MatVec.allFinite(all.asSlice(2L * (h + k), 2))).isTrue();
                    // Exact: the scaled value times 2^112 (in double, no rounding) is the half's value.
                    assertThat((double) got[k] * 0x1p112)
                            .as("half 0x%04x", bits)
                            .isEqualTo((double) Float.float16ToFloat(bits));
                }
            }
            assertThat(MatVec.allFinite(all)).isFalse();
            assertThat(MatVec.allFinite(all.asSlice(0, 2 * 0x7c00))).isTrue(); // 0 .. largest finite
        }
    }

    private static void check(int out, int in, int rows, WeightType type, long seed, KernelThreads team) {
        SplittableRandom random = new SplittableRandom(seed);
        try (Arena arena = Arena.ofShared()) { // the team's helpers read it
            MemorySegment data = arena.allocate((long) out * in * type.bytes());
            double[] w = new double[out * in]; // the values the kernel sees (after rounding to F16)
            for (int i = 0; i < w.length; i++) {
                float v = (float) random.nextGaussian();
                if (type == WeightType.F16) {
                    short h = Float.floatToFloat16(v);
                    data.set(F16, 2L * i, h);
                    w[i] = Float.float16ToFloat(h);
                } else {
                    data.set(F32, 4L * i, v);
                    w[i] = v;
                }
            }
            float[] x = new float[rows * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
            float[] y = new float[rows * out];
            team.multiply(new WeightView(data, out, in, type), x, rows, y);
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out; o++) {
                    double sum = 0;
                    double magnitude = 0;
                    for (int i = 0; i < in; i++) {
                        sum += w[o * in + i] * x[r * in + i];
                        magnitude += Math.abs(w[o * in + i] * x[r * in + i]);
                    }
                    // fp32 accumulation: error grows with the sum of |terms|, a few ulps per term at most.
                    assertThat((double) y[r * out + o])
                            .as("%s (%d, %d) rows %d: y[%d, %d]", type, out, in, rows, r, o)
                            .isCloseTo(sum, org.assertj.core.data.Offset.offset(1e-6 * magnitude + 1e-30));
                }
            }
        }
    }

    /**
     * The kernel's sums in their one fixed order (per-lane fused multiply-adds, the lanes folded upper half
     * onto lower, then the tail in Java order), emulated in scalar Java: equal to the last bit on the first call
     * and on every call after the JIT has compiled the kernel (a few hundred calls), for F32 and F16 weights, one
     * row (13 outputs: the four-at-a-time loop and its remainder) and three rows. With {@code reduceLanes(ADD)},
     * whose intrinsic sums in another order, results changed after about 430 calls.
     */
    @Test
    void resultsAreTheSameBitsInEveryJitTier() {
        int lanes = MatVec.FLOATS.length();
        int out = 13;
        int in = 5 * lanes + 3; // a tail after the vector loop
        SplittableRandom random = new SplittableRandom(11);
        for (WeightType type : WeightType.values()) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment data = arena.allocate((long) out * in * type.bytes());
                float[][] read = new float[out][in]; // each weight as the kernel multiplies it
                for (int o = 0; o < out; o++) {
                    for (int i = 0; i < in; i++) {
                        long at = (long) o * in + i;
                        float value = (float) random.nextGaussian();
                        if (type == WeightType.F16) {
                            short half = Float.floatToFloat16(value);
                            data.set(F16, at * Short.BYTES, half);
                            read[o][i] = Float.intBitsToFloat((half << 13) & 0x8fffe000); // value * 2^-112
                        } else {
                            data.set(F32, at * Float.BYTES, value);
                            read[o][i] = value;
                        }
                    }
                }
                WeightView view = new WeightView(data, out, in, type);
                float sumScale = type == WeightType.F16 ? 0x1p56f : 1f;
                for (int rows : new int[] {1, 3}) {
                    float[] x = new float[rows * in];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) random.nextGaussian();
                    }
                    float[] scaled = MatVec.input(view, x);
                    float[] expected = new float[rows * out];
                    for (int r = 0; r < rows; r++) {
                        for (int o = 0; o < out; o++) {
                            expected[r * out + o] = fixedOrderDot(read[o], scaled, r * in, in, lanes) * sumScale;
                        }
                    }
                    for (int call = 0; call < 3000; call++) {
                        float[] y = new float[rows * out];
                        MatVec.multiply(view, scaled, rows, y, 0, out);
                        if (call % 500 == 0 || call == 2999) {
                            assertThat(y).as("%s, %d rows, call %d", type, rows, call).containsExactly(expected);
                        }
                    }
                }
            }
        }
    }

    private static float fixedOrderDot(float[] w, float[] x, int from, int in, int lanes) {
        int end = in - in % lanes;
        float[] acc = new float[lanes];
        for (int i = 0; i < end; i += lanes) {
            for (int l = 0; l < lanes; l++) {
                acc[l] = Math.fma(w[i + l], x[from + i + l], acc[l]);
            }
        }
        for (int half = lanes / 2; half >= 1; half /= 2) {
            for (int l = 0; l < half; l++) {
                acc[l] = acc[l] + acc[l + half];
            }
        }
        float s = acc[0];
        for (int i = end; i < in; i++) {
            s += w[i] * x[from + i];
        }
        return s;
    }
}
