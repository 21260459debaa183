package dev.realign.merge.methods;

import static dev.realign.merge.methods.Fixtures.gaussian;
import static dev.realign.merge.methods.Fixtures.nd;
import static dev.realign.merge.methods.Fixtures.values;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The algebraic properties the brief names, over random small tensors. */
class MergePropertiesTest {
    static final String TENSOR = "model.layers.3.self_attn.q_proj.weight";

    /** Float sums done in Java, to compare exactly with fp32 tensor arithmetic. */
    static double[] fp32Sum(double[] a, double[] b, double scale) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (float) a[i] + (float) scale * (float) b[i];
        }
        return out;
    }

    record Data(double[] base, double[] delta, Shape shape) {}

    static Data data(long seed, int rows, int cols) {
        SplittableRandom rng = new SplittableRandom(seed);
        int n = rows * cols;
        return new Data(gaussian(rng, n, 1), gaussian(rng, n, 0.05), new Shape(rows, cols));
    }

    NDArray merge(NDManager m, MergeMethod method, Data d, double weight, double density, MergeParameters p) {
        TensorMerge in = new TensorMerge(TENSOR, nd(m, d.base(), d.shape()), List.of(nd(m, d.delta(), d.shape())),
                new double[] {weight}, new double[] {density});
        return method.merge(in, p, m);
    }

    @Property(tries = 15)
    void linearAtWeightZeroIsTheBaseAndAtOneTheFineTune(@ForAll long seed,
            @ForAll @IntRange(min = 1, max = 9) int rows, @ForAll @IntRange(min = 1, max = 9) int cols) {
        Data d = data(seed, rows, cols);
        try (NDManager m = Fixtures.manager()) {
            assertThat(values(merge(m, MergeMethods.LINEAR, d, 0, 1, MergeParameters.DEFAULTS)))
                    .containsExactly(d.base());
            assertThat(values(merge(m, MergeMethods.LINEAR, d, 1, 1, MergeParameters.DEFAULTS)))
                    .containsExactly(fp32Sum(d.base(), d.delta(), 1));
        }
    }

    @Property(tries = 15)
    void linearAtRatioRIsBasePlusRDelta(@ForAll long seed, @ForAll @DoubleRange(min = 0, max = 1) double r) {
        Data d = data(seed, 4, 7);
        try (NDManager m = Fixtures.manager()) {
            double[] got = values(merge(m, MergeMethods.LINEAR, d, r, 1, MergeParameters.DEFAULTS));
            for (int i = 0; i < got.length; i++) {
                assertThat(got[i]).isCloseTo(d.base()[i] + r * d.delta()[i], within(1e-6));
            }
        }
    }

    @Property(tries = 15)
    void tiesWithDensityOneAndOneAdapterIsTaskArithmetic(@ForAll long seed,
            @ForAll @DoubleRange(min = -2, max = 2) double weight, @ForAll @DoubleRange(min = 0, max = 2) double lambda) {
        Data d = data(seed, 5, 6);
        try (NDManager m = Fixtures.manager()) {
            MergeParameters p = MergeParameters.DEFAULTS.withLambda(lambda);
            double[] ta = values(merge(m, MergeMethods.TASK_ARITHMETIC, d, weight, 1, p));
            // without normalize the weight scales the delta in both
            double[] ties = values(merge(m, MergeMethods.TIES, d, weight, 1, p.withNormalize(false)));
            assertThat(ties).containsExactly(ta, within(1e-6));
            // mergekit's ties normalizes by the agreeing weight: at weight 1 that is still task arithmetic
            double[] tiesDefault = values(merge(m, MergeMethods.TIES, d, 1, 1, p));
            double[] ta1 = values(merge(m, MergeMethods.TASK_ARITHMETIC, d, 1, 1, p));
            assertThat(tiesDefault).containsExactly(ta1, within(1e-6));
        }
    }

    @Property(tries = 15)
    void dareAtDensityOneIsLinearAndTaskArithmetic(@ForAll long seed,
            @ForAll @DoubleRange(min = 0, max = 1.5) double weight, @ForAll long maskSeed) {
        Data d = data(seed, 3, 11);
        try (NDManager m = Fixtures.manager()) {
            double[] dare = values(merge(m, MergeMethods.DARE_LINEAR, d, weight, 1,
                    MergeParameters.DEFAULTS.withSeed(maskSeed)));
            double[] linear = values(merge(m, MergeMethods.LINEAR, d, weight, 1, MergeParameters.DEFAULTS));
            double[] ta = values(merge(m, MergeMethods.TASK_ARITHMETIC, d, weight, 1, MergeParameters.DEFAULTS));
            assertThat(dare).containsExactly(linear, within(1e-6));
            assertThat(dare).containsExactly(ta, within(1e-6));
        }
    }

    @Property(tries = 15)
    void slerpAtZeroIsTheBaseAndAtOneTheFineTune(@ForAll long seed, @ForAll @DoubleRange(min = 0.01, max = 3) double scale) {
        SplittableRandom rng = new SplittableRandom(seed);
        Data d = new Data(gaussian(rng, 40, 1), gaussian(rng, 40, scale), new Shape(5, 8));
        try (NDManager m = Fixtures.manager()) {
            double[] at0 = values(merge(m, MergeMethods.SLERP, d, 1, 1, MergeParameters.DEFAULTS.withT(0)));
            double[] at1 = values(merge(m, MergeMethods.SLERP, d, 1, 1, MergeParameters.DEFAULTS.withT(1)));
            assertThat(at0).containsExactly(d.base(), within(1e-6));
            assertThat(at1).containsExactly(fp32Sum(d.base(), d.delta(), 1), within(1e-6));
        }
    }

    @Test
    void oneDareSeedGivesIdenticalTensorsAndAnotherSeedAnotherMask() {
        Data d = data(5, 16, 32);
        try (NDManager m = Fixtures.manager()) {
            for (MergeMethod method : List.of(MergeMethods.DARE_LINEAR, MergeMethods.DARE_TIES,
                    MergeMethods.DELLA, MergeMethods.DELLA_LINEAR)) {
                MergeParameters p = MergeParameters.DEFAULTS.withSeed(42);
                NDArray first = merge(m, method, d, 1, 0.5, p);
                NDArray again = merge(m, method, d, 1, 0.5, p);
                NDArray other = merge(m, method, d, 1, 0.5, p.withSeed(43));
                assertThat(first.contentEquals(again)).as(method.name()).isTrue();
                assertThat(first.contentEquals(other)).as(method.name()).isFalse();
            }
        }
    }

    @Test
    void randomMasksDifferByTensorNameAndAdapterIndex() {
        try (NDManager m = Fixtures.manager()) {
            NDArray x = m.ones(new Shape(4096));
            NDArray a = Sparsifiers.random(x, 0.5, false, 1, "a.weight", 0);
            NDArray b = Sparsifiers.random(x, 0.5, false, 1, "b.weight", 0);
            NDArray c = Sparsifiers.random(x, 0.5, false, 1, "a.weight", 1);
            assertThat(a.contentEquals(b)).isFalse();
            assertThat(a.contentEquals(c)).isFalse();
            // and keep about half
            assertThat(a.sum().getFloat()).isBetween(4096 * 0.45f, 4096 * 0.55f);
        }
    }

    @Property(tries = 30)
    void magnitudeKeepsExactlyFloorDensityTimesNumel(@ForAll long seed,
            @ForAll @IntRange(min = 1, max = 300) int n, @ForAll @DoubleRange(min = 0.01, max = 1) double density,
            @ForAll boolean withTies) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] x = gaussian(rng, n, 1);
        if (withTies) {
            for (int i = 0; i < n; i++) {
                x[i] = (i % 2 == 0 ? 1 : -1) * (1 + rng.nextInt(4)); // magnitudes 1..4, many ties
            }
        }
        long k = (long) Math.floor(density * n);
        try (NDManager m = Fixtures.manager()) {
            NDArray a = nd(m, x, new Shape(n));
            NDArray mask = Sparsifiers.topMagnitudeMask(a, k);
            assertThat(mask.getDataType()).isEqualTo(DataType.BOOLEAN);
            assertThat(mask.countNonzero().getLong()).isEqualTo(k);
            NDArray sparse = Sparsifiers.magnitude(a, density, false);
            long kept = sparse.countNonzero().getLong();
            assertThat(kept).isEqualTo(density >= 1 ? n : k);
            // and it is the reference's choice, ties to the lower index
            assertThat(values(sparse)).containsExactly(Reference.magnitude(x, density, false), within(0.0));
        }
    }

    @Test
    void tiesAtTheCutGoToTheLowerIndex() {
        try (NDManager m = Fixtures.manager()) {
            NDArray zeros = m.create(new float[] {0, 3, 0, -2, -0f, 0, 1, 0});
            assertThat(Sparsifiers.topMagnitudeMask(zeros, 5).toBooleanArray())
                    .containsExactly(true, true, true, true, false, false, true, false);
            NDArray twos = m.create(new float[] {2, -2, 5, 2, -2, 1}, new Shape(2, 3));
            NDArray mask = Sparsifiers.topMagnitudeMask(twos, 3);
            assertThat(mask.getShape()).isEqualTo(new Shape(2, 3));
            assertThat(mask.toBooleanArray()).containsExactly(true, true, true, false, false, false);
            assertThat(Sparsifiers.topMagnitudeMask(twos, 0).toBooleanArray()).containsOnly(false);
            assertThat(Sparsifiers.topMagnitudeMask(twos, 6).toBooleanArray()).containsOnly(true);
        }
    }

    @Test
    void magnitudeOutliersDropsTheLargestAndTheSmallest() {
        try (NDManager m = Fixtures.manager()) {
            float[] x = new float[100];
            for (int i = 0; i < 100; i++) {
                x[i] = (i % 2 == 0 ? 1 : -1) * (i + 1);
            }
            NDArray a = m.create(x);
            // density 0.5, gamma 0.1: drop the 10 largest and the 40 smallest: keep magnitudes 41..90
            double[] kept = values(Sparsifiers.magnitudeOutliers(a, 0.5, 0.1, false));
            for (int i = 0; i < 100; i++) {
                assertThat(kept[i] != 0).as("magnitude %d", i + 1).isEqualTo(i + 1 >= 41 && i + 1 <= 90);
            }
            // gamma * numel < 1: no outlier dropped, the top half kept (mergekit would zero everything)
            double[] top = values(Sparsifiers.magnitudeOutliers(a, 0.5, 0.001, false));
            for (int i = 0; i < 100; i++) {
                assertThat(top[i] != 0).isEqualTo(i + 1 > 50);
            }
        }
    }

    @Test
    void rescaleRestoresTheL1Norm() {
        SplittableRandom rng = new SplittableRandom(3);
        double[] x = gaussian(rng, 500, 1);
        double l1 = 0;
        for (double v : x) {
            l1 += Math.abs(v);
        }
        try (NDManager m = Fixtures.manager()) {
            NDArray a = nd(m, x, new Shape(500));
            for (NDArray s : List.of(Sparsifiers.magnitude(a, 0.2, true), Sparsifiers.random(a, 0.2, true, 1, "x", 0),
                    Sparsifiers.magnitudeOutliers(a, 0.2, 0.05, true),
                    Sparsifiers.dellaMagprune(a, 0.2, 0.1, true, 1, "x", 0))) {
                assertThat(s.abs().sum().getFloat()).isCloseTo((float) l1, within((float) (l1 * 1e-5)));
            }
        }
    }

    @Test
    void sparsifiersLeaveOnlyTheirResultInTheDeltasManager() {
        try (NDManager m = Fixtures.manager()) {
            NDArray x = m.randomNormal(new Shape(8, 16)).toType(DataType.FLOAT16, false);
            for (int i = 0; i < 5; i++) {
                try (NDManager scope = m.newSubManager()) {
                    NDArray d = x.reshape(8, 16);
                    d.attach(scope);
                    NDArray out = switch (i) {
                        case 0 -> Sparsifiers.magnitude(d, 0.5, true);
                        case 1 -> Sparsifiers.magnitudeOutliers(d, 0.5, 0.1, true);
                        case 2 -> Sparsifiers.random(d, 0.5, true, 1, "x", 0);
                        case 3 -> Sparsifiers.dellaMagprune(d, 0.5, 0.1, true, 1, "x", 0);
                        default -> Sparsifiers.topMagnitudeMask(d, 17);
                    };
                    assertThat(scope.getManagedArrays()).as("sparsifier %d", i).containsExactlyInAnyOrder(d, out);
                }
            }
        }
    }

    @Test
    void dellaKeepsLargeMagnitudesMoreOften() {
        try (NDManager m = Fixtures.manager()) {
            int rows = 64;
            int cols = 200;
            float[] x = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    x[r * cols + c] = c + 1; // magnitude rank = column
                }
            }
            NDArray a = m.create(x, new Shape(rows, cols));
            NDArray kept = Sparsifiers.dellaMagprune(a, 0.5, 0.4, false, 9, "w", 0).gt(0).toType(DataType.FLOAT32, false);
            double low = kept.get(":, :20").mean().getFloat(); // p from 0.1 to ~0.18
            double high = kept.get(":, 180:").mean().getFloat(); // p from ~0.82 to 0.9
            assertThat(low).isBetween(0.08, 0.2);
            assertThat(high).isBetween(0.78, 0.92);
        }
    }

    @Test
    void inputsAreLeftUntouchedAndTheResultLivesInTheGivenManager() {
        Data d = data(1, 6, 6);
        try (NDManager owner = Fixtures.manager(); NDManager out = Fixtures.manager()) {
            NDArray base = nd(owner, d.base(), d.shape());
            NDArray delta = nd(owner, d.delta(), d.shape());
            for (MergeMethod method : MergeMethods.all()) {
                int count = Math.max(method.minAdapters(), 1);
                List<NDArray> deltas = java.util.Collections.nCopies(count, delta);
                double[] w = new double[count];
                java.util.Arrays.fill(w, 0.5);
                double[] dens = new double[count];
                java.util.Arrays.fill(dens, method.usesDensity() ? 0.6 : 1);
                if (method == MergeMethods.SAFE_LORA) {
                    deltas = List.of(delta, base);
                }
                NDArray result;
                int ownerArrays = owner.getManagedArrays().size();
                try (NDManager request = out.newSubManager()) {
                    result = method.merge(new TensorMerge(TENSOR, base, deltas, w, dens), MergeParameters.DEFAULTS,
                            request);
                    assertThat(result.getManager()).as(method.name()).isSameAs(request);
                    // no temporary left behind, neither with the caller's result nor with its inputs
                    assertThat(request.getManagedArrays()).as(method.name()).containsExactly(result);
                    assertThat(owner.getManagedArrays()).as(method.name()).hasSize(ownerArrays);
                    assertThat(result.getShape()).isEqualTo(d.shape());
                    assertThat(result.getDataType()).isEqualTo(DataType.FLOAT32);
                }
                assertThat(result.isReleased()).as(method.name() + " result freed with its manager").isTrue();
                assertThat(base.isReleased()).isFalse();
                assertThat(values(base)).containsExactly(d.base());
                assertThat(values(delta)).containsExactly(d.delta());
            }
        }
    }
}
