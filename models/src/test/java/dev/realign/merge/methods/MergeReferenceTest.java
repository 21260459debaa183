package dev.realign.merge.methods;

import static dev.realign.merge.methods.Fixtures.assertMatches;
import static dev.realign.merge.methods.Fixtures.gaussian;
import static dev.realign.merge.methods.Fixtures.gaussians;
import static dev.realign.merge.methods.Fixtures.nd;
import static dev.realign.merge.methods.Fixtures.nds;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every method against the independent double-precision {@link Reference} on small tensors, elementwise to
 * 1e-5 (relative above 1). The GTA variants' sparsifier, consensus and defaults come from the table in
 * MERGE_SEMANTICS.md, restated here, not from the registry.
 */
class MergeReferenceTest {
    static final Shape MATRIX = new Shape(6, 10);
    static final String TENSOR = "model.layers.0.mlp.up_proj.weight";

    /** name, sparsifier, consensus, normalize default, rescale default (MERGE_SEMANTICS.md). */
    record Variant(String name, String sparsifier, String consensus, boolean normalize, boolean rescale) {}

    static final List<Variant> VARIANTS = List.of(
            new Variant("task_arithmetic", "none", null, false, false),
            new Variant("ties", "magnitude", "sum", true, false),
            new Variant("dare_linear", "random", null, false, true),
            new Variant("dare_ties", "random", "sum", false, true),
            new Variant("breadcrumbs", "magnitude_outliers", null, false, false),
            new Variant("breadcrumbs_ties", "magnitude_outliers", "sum", false, false),
            new Variant("della", "della_magprune", "sum", true, true),
            new Variant("della_linear", "della_magprune", null, false, true));

    static double[] sparsified(Variant v, double[] delta, int rows, double density, boolean rescale, double gamma,
            double epsilon, long seed, int adapter) {
        return switch (v.sparsifier()) {
            case "none" -> delta.clone();
            case "magnitude" -> Reference.magnitude(delta, density, rescale);
            case "magnitude_outliers" -> Reference.magnitudeOutliers(delta, density, gamma, rescale);
            case "random" -> Reference.random(delta, density, rescale, seed, TENSOR, adapter);
            case "della_magprune" -> Reference.della(delta, rows, density, epsilon, rescale, seed, TENSOR, adapter);
            default -> throw new AssertionError(v.sparsifier());
        };
    }

    /** Every variant, with its defaults and with every parameter changed, for one and for three adapters. */
    static Stream<Arguments> everyVariant() {
        return IntStream.range(0, VARIANTS.size()).boxed().flatMap(v -> Stream.of(
                Arguments.of(VARIANTS.get(v).name(), true, 1), Arguments.of(VARIANTS.get(v).name(), true, 3),
                Arguments.of(VARIANTS.get(v).name(), false, 1), Arguments.of(VARIANTS.get(v).name(), false, 3)));
    }

    @ParameterizedTest(name = "{0} defaults={1} adapters={2}")
    @MethodSource("everyVariant")
    void everyGeneralizedTaskArithmeticVariantMatchesReference(String name, boolean defaults, int adapters) {
        int index = IntStream.range(0, VARIANTS.size()).filter(i -> VARIANTS.get(i).name().equals(name))
                .findFirst().orElseThrow();
        generalizedTaskArithmeticMatchesReference(index, name.hashCode(), adapters, defaults, 0.45);
    }

    @Property(tries = 16)
    void generalizedTaskArithmeticMatchesReference(@ForAll @IntRange(min = 0, max = 7) int variantIndex,
            @ForAll long dataSeed, @ForAll @IntRange(min = 1, max = 4) int adapters,
            @ForAll boolean defaults, @ForAll @DoubleRange(min = 0.3, max = 0.8) double densityDraw) {
        Variant v = VARIANTS.get(variantIndex);
        SplittableRandom rng = new SplittableRandom(dataSeed);
        int n = (int) MATRIX.size();
        double[] base = gaussian(rng, n, 1);
        double[][] deltas = gaussians(rng, adapters, n, 0.1);
        double[] w = Fixtures.weights(rng, adapters);
        if (adapters > 1) {
            w[adapters - 1] = -w[adapters - 1]; // a negative weight exercises the sign election
        }
        double[] density = new double[adapters];
        for (int i = 0; i < adapters; i++) {
            density[i] = v.sparsifier().equals("none") ? 1 : (i == 0 ? densityDraw : 1 - densityDraw / 2);
        }
        boolean normalize = defaults ? v.normalize() : !v.normalize();
        boolean rescale = defaults ? v.rescale() : !v.rescale();
        String consensus = v.consensus() == null ? null : defaults ? "sum" : "count";
        double lambda = defaults ? 1 : 0.7;
        double gamma = defaults ? 0.01 : 0.1;
        double epsilon = defaults ? 0.15 : 0.05;
        long seed = defaults ? 0 : dataSeed ^ 0x5EED;
        if (v.sparsifier().equals("della_magprune")) {
            for (int i = 0; i < adapters; i++) {
                density[i] = Math.min(density[i], 0.8);
            }
        }

        MergeParameters params = MergeParameters.DEFAULTS;
        if (!defaults) {
            params = params.withNormalize(normalize).withRescale(rescale).withLambda(lambda);
            if (consensus != null) {
                params = params.withMajoritySign(Consensus.COUNT);
            }
            if (v.sparsifier().equals("magnitude_outliers")) {
                params = params.withGamma(gamma);
            }
            if (v.sparsifier().equals("della_magprune")) {
                params = params.withEpsilon(epsilon);
            }
            if (v.sparsifier().equals("random") || v.sparsifier().equals("della_magprune")) {
                params = params.withSeed(seed);
            }
        }
        double[][] sparse = new double[adapters][];
        for (int i = 0; i < adapters; i++) {
            sparse[i] = sparsified(v, deltas[i], (int) MATRIX.get(0), density[i], rescale, gamma, epsilon, seed, i);
        }
        double[] expected = Reference.gta(base, sparse, w, consensus, normalize, lambda);

        try (NDManager m = Fixtures.manager()) {
            TensorMerge in = new TensorMerge(TENSOR, nd(m, base, MATRIX), nds(m, deltas, MATRIX), w, density);
            NDArray got = MergeMethods.byName(v.name()).merge(in, params, m);
            assertMatches(got, expected, MATRIX);
        }
    }

    @Test
    void sparsifiersMatchReferenceOnOneDimensionalTensors() {
        SplittableRandom rng = new SplittableRandom(7);
        int n = 257;
        Shape shape = new Shape(n);
        double[] x = gaussian(rng, n, 1);
        try (NDManager m = Fixtures.manager()) {
            NDArray a = nd(m, x, shape);
            assertMatches(Sparsifiers.magnitude(a, 0.3, false), Reference.magnitude(x, 0.3, false), shape);
            assertMatches(Sparsifiers.magnitude(a, 0.3, true), Reference.magnitude(x, 0.3, true), shape);
            assertMatches(Sparsifiers.magnitudeOutliers(a, 0.5, 0.05, true),
                    Reference.magnitudeOutliers(x, 0.5, 0.05, true), shape);
            assertMatches(Sparsifiers.random(a, 0.4, true, 99, "t", 2), Reference.random(x, 0.4, true, 99, "t", 2),
                    shape);
            assertMatches(Sparsifiers.dellaMagprune(a, 0.5, 0.2, false, 3, "t", 0),
                    Reference.della(x, 1, 0.5, 0.2, false, 3, "t", 0), shape);
        }
    }

    @Test
    void sparsifiersBreakTiesLikeTheReference() {
        // few distinct magnitudes: every selection cuts through ties
        int rows = 7;
        int cols = 40;
        int n = rows * cols;
        double[] x = new double[n];
        for (int j = 0; j < n; j++) {
            x[j] = ((j * 7919) % 5 - 2) * 0.5;
        }
        Shape shape = new Shape(rows, cols);
        try (NDManager m = Fixtures.manager()) {
            NDArray a = nd(m, x, shape);
            assertMatches(Sparsifiers.magnitude(a, 0.37, true), Reference.magnitude(x, 0.37, true), shape);
            assertMatches(Sparsifiers.magnitudeOutliers(a, 0.4, 0.15, false),
                    Reference.magnitudeOutliers(x, 0.4, 0.15, false), shape);
            assertMatches(Sparsifiers.dellaMagprune(a, 0.5, 0.45, false, 17, "t", 1),
                    Reference.della(x, rows, 0.5, 0.45, false, 17, "t", 1), shape);
        }
    }

    @Test
    void randomMasksSpanSeveralBlocksAndChunksLikeTheDocumentedScheme() {
        // 3 blocks of 65536 and a partial one: the per-block reseeding must match the documented scheme
        int n = 3 * SeededUniforms.BLOCK + 123;
        SplittableRandom rng = new SplittableRandom(11);
        double[] x = gaussian(rng, n, 1);
        Shape shape = new Shape(n);
        try (NDManager m = Fixtures.manager()) {
            NDArray a = nd(m, x, shape);
            assertMatches(Sparsifiers.random(a, 0.25, false, -5, TENSOR, 1),
                    Reference.random(x, 0.25, false, -5, TENSOR, 1), shape);
            NDArray u = SeededUniforms.uniforms(m, SeededUniforms.key(-5, TENSOR, 1), SeededUniforms.BLOCK - 3, 10);
            double[] all = Reference.uniforms(-5, TENSOR, 1, SeededUniforms.BLOCK + 7);
            double[] slice = java.util.Arrays.copyOfRange(all, SeededUniforms.BLOCK - 3, SeededUniforms.BLOCK + 7);
            assertThat(Fixtures.values(u)).containsExactly(slice);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void linearMatchesReference(boolean normalize) {
        SplittableRandom rng = new SplittableRandom(normalize ? 1 : 2);
        int n = (int) MATRIX.size();
        double[] base = gaussian(rng, n, 1);
        double[][] deltas = gaussians(rng, 3, n, 0.1);
        double[] w = {0.5, 0.25, 0.75};
        try (NDManager m = Fixtures.manager()) {
            TensorMerge in = new TensorMerge(TENSOR, nd(m, base, MATRIX), nds(m, deltas, MATRIX), w);
            NDArray got = MergeMethods.LINEAR.merge(in, MergeParameters.DEFAULTS.withNormalize(normalize), m);
            assertMatches(got, Reference.linear(base, deltas, w, normalize), MATRIX);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void mergekitLinearOverFullModelsMatchesReference(boolean normalize) {
        SplittableRandom rng = new SplittableRandom(3);
        int n = (int) MATRIX.size();
        double[][] models = gaussians(rng, 3, n, 1);
        double[] w = {0.2, 0.3, 0.9};
        try (NDManager m = Fixtures.manager()) {
            NDArray got = Linear.mergekit(TENSOR, nds(m, models, MATRIX), w, normalize, m);
            assertMatches(got, Reference.mergekitLinear(models, w, normalize), MATRIX);
        }
    }

    @Test
    void normalizedLinearEqualsMergekitLinearOverTheFineTunes() {
        SplittableRandom rng = new SplittableRandom(4);
        int n = (int) MATRIX.size();
        double[] base = gaussian(rng, n, 1);
        double[][] deltas = gaussians(rng, 2, n, 0.1);
        double[][] models = new double[2][n];
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < n; j++) {
                models[i][j] = (float) (base[j] + deltas[i][j]);
            }
        }
        double[] w = {0.6, 0.3};
        try (NDManager m = Fixtures.manager()) {
            TensorMerge in = new TensorMerge(TENSOR, nd(m, base, MATRIX), nds(m, deltas, MATRIX), w);
            NDArray got = MergeMethods.LINEAR.merge(in, MergeParameters.DEFAULTS.withNormalize(true), m);
            assertMatches(got, Reference.mergekitLinear(models, w, true), MATRIX);
        }
    }

    @Property(tries = 15)
    void slerpMatchesReference(@ForAll long dataSeed, @ForAll @DoubleRange(min = 0, max = 1) double t,
            @ForAll @IntRange(min = 0, max = 2) int spread) {
        SplittableRandom rng = new SplittableRandom(dataSeed);
        int n = (int) MATRIX.size();
        double[] base = gaussian(rng, n, 1);
        // the delta's size sets the angle: wide (cos ~0.55), narrow (cos ~0.995, still slerp), colinear (lerp)
        double[] delta = gaussian(rng, n, new double[] {1.5, 0.1, 0.001}[spread]);
        try (NDManager m = Fixtures.manager()) {
            TensorMerge in = new TensorMerge(TENSOR, nd(m, base, MATRIX), List.of(nd(m, delta, MATRIX)), 1.0);
            NDArray got = MergeMethods.SLERP.merge(in, MergeParameters.DEFAULTS.withT(t), m);
            assertMatches(got, Reference.slerp(base, delta, t), MATRIX);
        }
    }

    @Test
    void slerpLeavesNearZeroVectorsUnnormalized() {
        int n = 8;
        double[] base = new double[n];
        double[] delta = new double[n];
        for (int j = 0; j < n; j++) {
            base[j] = (float) (1e-10 * (j + 1));
            delta[j] = (float) (j % 2 == 0 ? 1 : -1);
        }
        Shape shape = new Shape(n);
        try (NDManager m = Fixtures.manager()) {
            TensorMerge in = new TensorMerge(TENSOR, nd(m, base, shape), List.of(nd(m, delta, shape)), 1.0);
            NDArray got = MergeMethods.SLERP.merge(in, MergeParameters.DEFAULTS.withT(0.3), m);
            assertMatches(got, Reference.slerp(base, delta, 0.3), shape);
        }
    }

    @Property(tries = 10)
    void modelStockMatchesReference(@ForAll long dataSeed, @ForAll @IntRange(min = 2, max = 4) int adapters,
            @ForAll boolean filterWise) {
        SplittableRandom rng = new SplittableRandom(dataSeed);
        int n = (int) MATRIX.size();
        double[] base = gaussian(rng, n, 1);
        double[] shared = gaussian(rng, n, 0.1);
        double[][] deltas = gaussians(rng, adapters, n, 0.1);
        for (double[] d : deltas) {
            for (int j = 0; j < n; j++) {
                d[j] = (float) (d[j] + shared[j]); // correlated fine-tunes, cos around 0.5
            }
        }
        try (NDManager m = Fixtures.manager()) {
            TensorMerge in = new TensorMerge(TENSOR, nd(m, base, MATRIX), nds(m, deltas, MATRIX),
                    new double[adapters]);
            NDArray got = MergeMethods.MODEL_STOCK.merge(in, MergeParameters.DEFAULTS.withFilterWise(filterWise), m);
            assertMatches(got, Reference.modelStock(base, deltas, filterWise ? (int) MATRIX.get(1) : n), MATRIX);
        }
    }

    @Test
    void filterWiseModelStockTreatsAVectorAsOneRow() {
        SplittableRandom rng = new SplittableRandom(8);
        int n = 13;
        Shape shape = new Shape(n);
        double[] base = gaussian(rng, n, 1);
        double[][] deltas = gaussians(rng, 3, n, 0.1);
        try (NDManager m = Fixtures.manager()) {
            TensorMerge in = new TensorMerge(TENSOR, nd(m, base, shape), nds(m, deltas, shape), 1, 1, 1);
            NDArray got = MergeMethods.MODEL_STOCK.merge(in, MergeParameters.DEFAULTS.withFilterWise(true), m);
            assertMatches(got, Reference.modelStock(base, deltas, n), shape);
        }
    }

    @Property(tries = 8)
    void safetyVectorMatchesReference(@ForAll long dataSeed, @ForAll @IntRange(min = 2, max = 4) int adapters,
            @ForAll @DoubleRange(min = -1, max = 2) double lambda) {
        SplittableRandom rng = new SplittableRandom(dataSeed);
        int n = (int) MATRIX.size();
        double[] base = gaussian(rng, n, 1);
        double[][] deltas = gaussians(rng, adapters, n, 0.1);
        double[] w = Fixtures.weights(rng, adapters);
        try (NDManager m = Fixtures.manager()) {
            TensorMerge in = new TensorMerge(TENSOR, nd(m, base, MATRIX), nds(m, deltas, MATRIX), w);
            NDArray got = MergeMethods.SAFETY_VECTOR.merge(in, MergeParameters.DEFAULTS.withLambda(lambda), m);
            assertMatches(got, Reference.safetyVector(base, deltas, w, lambda), MATRIX);
        }
    }

    @Property(tries = 12)
    void safeLoraMatchesReference(@ForAll long dataSeed, @ForAll boolean tall,
            @ForAll @DoubleRange(min = -0.2, max = 1) double threshold) {
        SplittableRandom rng = new SplittableRandom(dataSeed);
        // wide (out < in: C formed) and tall (out > in: V (V^T D) association) tensors
        Shape shape = tall ? new Shape(12, 5) : new Shape(5, 12);
        int out = (int) shape.get(0);
        int inDim = (int) shape.get(1);
        int n = out * inDim;
        double[] base = gaussian(rng, n, 1);
        double[] task = gaussian(rng, n, 0.1);
        double[] unsafe = gaussian(rng, n, 0.1);
        if (rng.nextBoolean()) {
            for (int j = 0; j < n; j++) {
                task[j] = (float) (task[j] - 2 * unsafe[j]); // aligned with V: a high cosine
            }
        }
        double w0 = 0.8;
        double[] cos = new double[1];
        double[] expected = Reference.safeLora(base, task, unsafe, out, inDim, w0, threshold, cos);
        if (Math.abs(cos[0] - threshold) < 1e-4) {
            return; // too close to the threshold for fp32 to decide like double
        }
        try (NDManager m = Fixtures.manager()) {
            TensorMerge in = new TensorMerge(TENSOR, nd(m, base, shape),
                    List.of(nd(m, task, shape), nd(m, unsafe, shape)), w0, 0.5);
            NDArray got = MergeMethods.SAFE_LORA.merge(in, MergeParameters.DEFAULTS.withThreshold(threshold), m);
            assertMatches(got, expected, shape);
            assertThat(SafeLora.projectionCosine(nd(m, task, shape), nd(m, unsafe, shape)))
                    .isCloseTo(cos[0], org.assertj.core.api.Assertions.within(1e-5));
        }
    }

    @Test
    void fp16InputsAreWidenedAndTheResultIsFp32() {
        SplittableRandom rng = new SplittableRandom(9);
        int n = (int) MATRIX.size();
        double[] base = gaussian(rng, n, 1);
        double[] delta = gaussian(rng, n, 0.1);
        try (NDManager m = Fixtures.manager()) {
            NDArray b16 = nd(m, base, MATRIX).toType(DataType.FLOAT16, false);
            NDArray d16 = nd(m, delta, MATRIX).toType(DataType.FLOAT16, false);
            double[] b = Fixtures.values(b16);
            double[] d = Fixtures.values(d16);
            TensorMerge in = new TensorMerge(TENSOR, b16, List.of(d16), 0.4);
            NDArray got = MergeMethods.LINEAR.merge(in, MergeParameters.DEFAULTS, m);
            assertMatches(got, Reference.linear(b, new double[][] {d}, new double[] {0.4}, false), MATRIX);
            assertThat(b16.getDataType()).isEqualTo(DataType.FLOAT16);
        }
    }
}
