package dev.realign.realign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.FullDeltaAdapter;
import dev.realign.model.ProjectionKind;
import dev.realign.model.Weights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * IRR end to end on a tiny model: a random aligned model, a random LoRA fine-tune folded into full deltas, an
 * unaligned model off by a random vector, random safety and calibration token sequences.
 */
class IrrTest {
    @TempDir
    Path dir;

    @Test
    void nothingRemovedAndNoRecalibrationGivesTheFineTune() {
        try (IrrFixture f = new IrrFixture(dir, 31);
             IrrResult result = f.run(IrrParameters.DEFAULTS.withSparsity(1).withRemoveOnly(true))) {
            assertThat(result.delta().keySet()).containsExactlyElementsOf(f.delta.keySet());
            for (var e : f.delta.entrySet()) {
                assertThat(result.delta().get(e.getKey()).toFloatArray()).as(e.getKey())
                        .containsExactly(e.getValue().toFloatArray());
            }
            assertThat(result.removed()).isZero();
            assertThat(result.stats()).hasSize(14); // 7 projections x 2 layers
        }
    }

    @Test
    void removeOnlyResetsExactlyTheSignConflictingEntries() {
        try (IrrFixture f = new IrrFixture(dir, 32);
             IrrResult result = f.run(IrrParameters.DEFAULTS.withRemoveOnly(true))) {
            for (var e : f.delta.entrySet()) {
                String name = e.getKey();
                float[] delta = e.getValue().toFloatArray();
                float[] v = f.safetyVector(name);
                float[] out = result.delta().get(name).toFloatArray();
                long conflicting = 0;
                for (int i = 0; i < delta.length; i++) {
                    boolean conflict = Math.signum(delta[i]) != Math.signum(v[i]);
                    conflicting += conflict ? 1 : 0;
                    assertThat(out[i]).as("%s[%d]", name, i).isEqualTo(conflict ? 0f : delta[i]);
                }
                IrrTensorStats stats = result.stats().get(name);
                assertThat(stats.conflicting()).isEqualTo(conflicting);
                assertThat(stats.removed()).isEqualTo(conflicting);
                assertThat(stats.conflictShare()).isBetween(0.4, 0.6); // independent random signs
                assertThat(stats.errorAfter()).isEqualTo(stats.errorRemoveOnly()).isPositive();
            }
        }
    }

    @Test
    void sparsityRemovesTheMostImportantConflictsOfEachColumnBlock() {
        int block = 16;
        try (IrrFixture f = new IrrFixture(dir, 33);
             IrrResult result = f.run(IrrParameters.DEFAULTS.withRemoveOnly(true).withSparsity(0.5).withBlockSize(block))) {
            List<String> names = new ArrayList<>(f.delta.keySet());
            Map<String, NDArray> fisher = new SafetyFisher(f.aligned.model(), 1).compute(f.aligned.weights(), names,
                    f.safety, f.manager, b -> {}, Cancellation.NEVER);
            for (String name : names) {
                NDArray d = f.delta.get(name);
                int rows = Math.toIntExact(d.getShape().get(0));
                int cols = Math.toIntExact(d.getShape().get(1));
                float[] delta = d.toFloatArray();
                float[] v = f.safetyVector(name);
                float[] importance = fisher.get(name).toFloatArray();
                float[] out = result.delta().get(name).toFloatArray();
                for (int c0 = 0; c0 < cols; c0 += block) {
                    float lowestRemoved = Float.POSITIVE_INFINITY;
                    float highestKept = Float.NEGATIVE_INFINITY;
                    int candidates = 0;
                    int removed = 0;
                    for (int r = 0; r < rows; r++) {
                        for (int c = c0; c < Math.min(cols, c0 + block); c++) {
                            int i = r * cols + c;
                            if (Math.signum(delta[i]) == Math.signum(v[i])) {
                                assertThat(out[i]).as("agreeing %s[%d]", name, i).isEqualTo(delta[i]);
                                continue;
                            }
                            candidates++;
                            if (out[i] == 0 && delta[i] != 0) {
                                removed++;
                                lowestRemoved = Math.min(lowestRemoved, importance[i]);
                            } else {
                                assertThat(out[i]).isEqualTo(delta[i]);
                                highestKept = Math.max(highestKept, importance[i]);
                            }
                        }
                    }
                    assertThat(removed).as("%s block %d", name, c0).isEqualTo(candidates - candidates / 2);
                    assertThat(lowestRemoved).as("%s block %d", name, c0).isGreaterThanOrEqualTo(highestKept);
                }
            }
        }
    }

    @Test
    void recalibrationLowersTheOutputErrorOnCalibrationInputs() {
        // Blocks of 32 columns: several blocks per matrix, so later blocks rank the compensated delta.
        IrrParameters params = IrrParameters.DEFAULTS.withBlockSize(32);
        try (IrrFixture f = new IrrFixture(dir, 34);
             IrrResult irr = f.run(params);
             IrrResult removeOnly = f.run(params.withRemoveOnly(true))) {
            for (IrrTensorStats s : irr.stats().values()) {
                assertThat(s.removed()).as(s.tensor()).isPositive();
                assertThat(s.errorAfter()).as(s.tensor()).isLessThan(s.errorRemoveOnly());
            }
            // Independently of the job's own bookkeeping: the q/k/v inputs of layer 0 are the normed embeddings of the
            // calibration tokens in both runs, so ||(W_ft - W') X|| compares directly.
            Map<String, double[][]> inputs = layerZeroInputs(f);
            for (ProjectionKind kind : List.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V)) {
                String name = kind.weightName(0);
                double[][] x = inputs.get("attention");
                double withIrr = outputError(f.delta.get(name), irr.delta().get(name), x);
                double withRemoval = outputError(f.delta.get(name), removeOnly.delta().get(name), x);
                assertThat(withIrr).as(name).isLessThan(withRemoval);
                assertThat(irr.stats().get(name).errorAfter()).isCloseTo(withIrr, within(1e-4 * withIrr));
            }
        }
    }

    @Test
    void theResultIsServedAsAFullDeltaAdapter() {
        try (IrrFixture f = new IrrFixture(dir, 35); IrrResult result = f.run(IrrParameters.DEFAULTS)) {
            Path out = result.writeModel(f.aligned.weights(), f.aligned.directory(), dir.resolve("irr"),
                    Map.of("realign.job", "irr"));
            try (DeltaSource adapter = FullDeltaAdapter.load("irr", out, f.aligned.config(), f.aligned.weights(),
                    f.manager); NDManager scope = f.manager.newSubManager()) {
                assertThat(adapter.targets()).containsExactlyInAnyOrderElementsOf(result.delta().keySet());
                for (var e : result.delta().entrySet()) {
                    float[] expected = e.getValue().toFloatArray();
                    float[] served = adapter.delta(e.getKey(), scope).toFloatArray();
                    for (int i = 0; i < expected.length; i++) {
                        assertThat(served[i]).as("%s[%d]", e.getKey(), i).isCloseTo(expected[i], within(1e-6f));
                    }
                }
            }
        }
    }

    @Test
    void progressIsStreamedAndTheRunCanBeCancelled() {
        try (IrrFixture f = new IrrFixture(dir, 36)) {
            List<IrrProgress> events = new ArrayList<>();
            Irr irr = new Irr(f.aligned.model());
            try (IrrResult ignored = irr.run(f.inputs(), IrrParameters.DEFAULTS, f.manager, events::add,
                    Cancellation.NEVER)) {
                assertThat(events.getFirst().stage()).isEqualTo(IrrProgress.Stage.FISHER);
                assertThat(events.getLast()).isEqualTo(new IrrProgress(IrrProgress.Stage.DONE, -1, null, 1));
                List<IrrProgress> realign = events.stream().filter(e -> e.stage() == IrrProgress.Stage.REALIGN).toList();
                assertThat(realign).hasSize(14);
                assertThat(realign).extracting(IrrProgress::layer).isSorted();
                assertThat(realign.getLast().fraction()).isEqualTo(1.0);
                assertThat(events.stream().filter(e -> e.stage() == IrrProgress.Stage.FISHER).toList())
                        .extracting(IrrProgress::fraction).isSorted().endsWith(1.0);
            }
            List<IrrProgress> seen = new ArrayList<>();
            Cancellation afterThree = () -> seen.stream().filter(e -> e.stage() == IrrProgress.Stage.REALIGN).count() >= 3;
            assertThatThrownBy(() -> irr.run(f.inputs(), IrrParameters.DEFAULTS, f.manager, seen::add, afterThree))
                    .isInstanceOf(CancellationException.class);
            assertThat(seen.stream().filter(e -> e.stage() == IrrProgress.Stage.REALIGN).count()).isEqualTo(3);
        }
    }

    @Test
    void inputsAreValidatedWithErrorsThatNameTheProblem() {
        try (IrrFixture f = new IrrFixture(dir, 37)) {
            Irr irr = new Irr(f.aligned.model());
            IrrInputs noCalibration = new IrrInputs(f.aligned.weights(), f.delta, f.unaligned, f.safety, List.of());
            assertThatThrownBy(() -> irr.run(noCalibration, IrrParameters.DEFAULTS, f.manager, p -> {}, Cancellation.NEVER))
                    .hasMessageContaining("calibration");
            String q = ProjectionKind.Q.weightName(1);
            Map<String, NDArray> wrongShape = new LinkedHashMap<>(f.delta);
            wrongShape.put(q, f.manager.zeros(new Shape(3, 3)));
            IrrInputs bad = new IrrInputs(f.aligned.weights(), wrongShape, f.unaligned, f.safety, f.calibration);
            assertThatThrownBy(() -> irr.run(bad, IrrParameters.DEFAULTS, f.manager, p -> {}, Cancellation.NEVER))
                    .hasMessageContaining(q).hasMessageContaining("shape");
            assertThatThrownBy(() -> IrrParameters.DEFAULTS.withSparsity(1.5)).hasMessageContaining("sparsity");
            assertThatThrownBy(() -> IrrParameters.DEFAULTS.withBlockSize(0)).hasMessageContaining("blockSize");
        }
    }

    /** Layer 0's attention input (normed embeddings) of every calibration token, as an independent double loop. */
    private static Map<String, double[][]> layerZeroInputs(IrrFixture f) {
        Weights w = f.aligned.weights();
        float[] embed = w.embed().toFloatArray();
        float[] norm = w.layer(0).inputNorm().toFloatArray();
        int hidden = norm.length;
        double eps = f.aligned.config().rmsNormEps();
        List<double[]> rows = new ArrayList<>();
        for (int[] sequence : f.calibration) {
            for (int token : sequence) {
                double meanSquare = 0;
                for (int j = 0; j < hidden; j++) {
                    double e = embed[token * hidden + j];
                    meanSquare += e * e / hidden;
                }
                double[] x = new double[hidden];
                for (int j = 0; j < hidden; j++) {
                    x[j] = embed[token * hidden + j] / Math.sqrt(meanSquare + eps) * norm[j];
                }
                rows.add(x);
            }
        }
        return Map.of("attention", rows.toArray(double[][]::new));
    }

    /** ||(D - D') X||^2 / n in double: the mean squared change of the layer's output per calibration token. */
    private static double outputError(NDArray delta, NDArray realigned, double[][] x) {
        int rows = Math.toIntExact(delta.getShape().get(0));
        int cols = Math.toIntExact(delta.getShape().get(1));
        float[] d = delta.toFloatArray();
        float[] r = realigned.toFloatArray();
        double total = 0;
        for (double[] token : x) {
            for (int o = 0; o < rows; o++) {
                double y = 0;
                for (int c = 0; c < cols; c++) {
                    y += ((double) d[o * cols + c] - r[o * cols + c]) * token[c];
                }
                total += y * y;
            }
        }
        return total / x.length;
    }
}
