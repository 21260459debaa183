package dev.realign.merge.methods;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every refusal is an IllegalArgumentException that names the tensor, the parameter or the value at fault. */
class MergeErrorsTest {
    static final String T = "model.layers.1.mlp.down_proj.weight";
    NDManager m;
    NDArray base;
    NDArray delta;

    @BeforeEach
    void setUp() {
        m = Fixtures.manager();
        base = m.randomNormal(new Shape(4, 6));
        delta = m.randomNormal(new Shape(4, 6));
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    TensorMerge one(double weight, double density) {
        return new TensorMerge(T, base, List.of(delta), new double[] {weight}, new double[] {density});
    }

    @Test
    void mismatchedShapesNameTheTensorAndBothShapes() {
        NDArray wrong = m.zeros(new Shape(6, 4));
        assertThatThrownBy(() -> new TensorMerge(T, base, List.of(delta, wrong), 1, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(T).hasMessageContaining("delta 1").hasMessageContaining("(6, 4)")
                .hasMessageContaining("(4, 6)");
        assertThatThrownBy(() -> Linear.mergekit(T, List.of(base, wrong), new double[] {1, 1}, true, m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(T).hasMessageContaining("(6, 4)");
    }

    @Test
    void countsOfWeightsAndDensitiesMustMatchTheDeltas() {
        assertThatThrownBy(() -> new TensorMerge(T, base, List.of(delta), 1, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 weights for 1 deltas");
        assertThatThrownBy(() -> new TensorMerge(T, base, List.of(delta), new double[] {1}, new double[] {1, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 densities for 1 deltas");
    }

    @Test
    void nonFloatTensorsAreRefused() {
        NDArray ints = m.zeros(new Shape(4, 6), DataType.INT32);
        assertThatThrownBy(() -> new TensorMerge(T, base, List.of(ints), 1.0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("delta 0")
                .hasMessageContaining("int32");
    }

    @Test
    void wrongAdapterCountsNameTheMethodTheBoundAndTheTensor() {
        TensorMerge two = new TensorMerge(T, base, List.of(delta, delta), 1, 1);
        assertThatThrownBy(() -> MergeMethods.SLERP.merge(two, MergeParameters.DEFAULTS, m))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'slerp' merges exactly 1 adapter, tensor " + T + " has 2");
        assertThatThrownBy(() -> MergeMethods.MODEL_STOCK.merge(one(1, 1), MergeParameters.DEFAULTS, m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 2 adapters")
                .hasMessageContaining(T);
        assertThatThrownBy(() -> MergeMethods.SAFETY_VECTOR.merge(one(1, 1), MergeParameters.DEFAULTS, m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 2");
        TensorMerge three = new TensorMerge(T, base, List.of(delta, delta, delta), 1, 1, 1);
        assertThatThrownBy(() -> MergeMethods.SAFE_LORA.merge(three, MergeParameters.DEFAULTS, m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exactly 2 adapters")
                .hasMessageContaining("has 3");
        TensorMerge none = new TensorMerge(T, base, List.of(), new double[0]);
        assertThatThrownBy(() -> MergeMethods.TIES.merge(none, MergeParameters.DEFAULTS, m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has 0");
    }

    @Test
    void densityOutsideZeroOneIsRefused() {
        for (double d : new double[] {0, -0.1, 1.5, Double.NaN}) {
            assertThatThrownBy(() -> one(1, d)).as("density %s", d)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(T).hasMessageContaining("density of adapter 0 is " + d)
                    .hasMessageContaining("(0, 1]");
        }
    }

    @Test
    void densityBelowOneIsRefusedByMethodsThatDoNotSparsify() {
        for (MergeMethod method : List.of(MergeMethods.LINEAR, MergeMethods.TASK_ARITHMETIC, MergeMethods.SLERP)) {
            assertThatThrownBy(() -> method.merge(one(1, 0.5), MergeParameters.DEFAULTS, m))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(method.name())
                    .hasMessageContaining("does not sparsify").hasMessageContaining("density 0.5");
        }
    }

    @Test
    void nanAndInfiniteWeightsAreRefused() {
        for (double w : new double[] {Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> one(w, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(T).hasMessageContaining("weight of adapter 0 is " + w);
        }
    }

    @Test
    void unknownMethodListsTheKnownNames() {
        assertThatThrownBy(() -> MergeMethods.byName("frankenmerge"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown merge method 'frankenmerge'")
                .hasMessageContaining("linear, task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs, "
                        + "breadcrumbs_ties, della, della_linear, slerp, model_stock, safety_vector, safe_lora");
        assertThat(MergeMethods.byName("DARE_TIES")).isSameAs(MergeMethods.DARE_TIES);
        assertThat(MergeMethods.byName("model-stock")).isSameAs(MergeMethods.MODEL_STOCK);
    }

    @Test
    void unknownParametersAreRefused() {
        assertThatThrownBy(() -> MergeParameters.DEFAULTS.with("temperature", 0.7))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown parameter 'temperature' = 0.7").hasMessageContaining("lambda");
        // a parameter another method declares, but this one does not
        assertThatThrownBy(() -> MergeMethods.TIES.merge(one(1, 0.5), MergeParameters.DEFAULTS.withGamma(0.1), m))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method 'ties' has no parameter 'gamma'")
                .hasMessageContaining("lambda, normalize, rescale, int8_mask, majority_sign");
    }

    @Test
    void parameterValuesOutOfRangeOrOfTheWrongTypeNameParameterAndValue() {
        assertThatThrownBy(() -> MergeMethods.SLERP.merge(one(1, 1), MergeParameters.DEFAULTS.withT(1.5), m))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("parameter 't' of method 'slerp' = 1.5 is outside [0, 1]");
        assertThatThrownBy(() -> MergeMethods.TIES.merge(one(1, 1), MergeParameters.DEFAULTS.withLambda(Double.NaN), m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'lambda'")
                .hasMessageContaining("NaN");
        assertThatThrownBy(() -> MergeMethods.TIES.merge(one(1, 1),
                MergeParameters.of(Map.of("majority_sign", "mean")), m))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'majority_sign'").hasMessageContaining("sum|count")
                .hasMessageContaining("\"mean\"");
        assertThatThrownBy(() -> MergeMethods.TIES.merge(one(1, 1),
                MergeParameters.of(Map.of("normalize", "yes")), m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'normalize'")
                .hasMessageContaining("true or false");
        assertThatThrownBy(() -> MergeMethods.DARE_TIES.merge(one(1, 1), MergeParameters.of(Map.of("seed", 1.5)), m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'seed'")
                .hasMessageContaining("whole number, got 1.5");
    }

    @Test
    void dellaRefusesAnEpsilonThatPushesProbabilitiesOutOfZeroOne() {
        assertThatThrownBy(() -> MergeMethods.DELLA.merge(one(1, 0.1), MergeParameters.DEFAULTS, m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(T)
                .hasMessageContaining("density 0.1").hasMessageContaining("epsilon 0.15");
    }

    @Test
    void normalizedLinearRefusesWeightsSummingToZero() {
        TensorMerge opposite = new TensorMerge(T, base, List.of(delta, delta), 0.5, -0.5);
        assertThatThrownBy(() -> MergeMethods.LINEAR.merge(opposite, MergeParameters.DEFAULTS.withNormalize(true), m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(T).hasMessageContaining("sum to");
    }

    @Test
    void modelStockRefusesDeltasThatCancel() {
        TensorMerge opposite = new TensorMerge(T, base, List.of(delta, delta.neg()), 1, 1);
        assertThatThrownBy(() -> MergeMethods.MODEL_STOCK.merge(opposite, MergeParameters.DEFAULTS, m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(T).hasMessageContaining("cancel");
    }
}
