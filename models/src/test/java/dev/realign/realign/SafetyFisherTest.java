package dev.realign.realign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.model.ProjectionKind;
import dev.realign.model.Weights;
import dev.realign.train.CausalLmLoss;
import dev.realign.train.TrainingSequence;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The diagonal Fisher against central finite differences of the answer NLL, through the engine's forward. */
class SafetyFisherTest {
    private static final String Q0 = ProjectionKind.Q.weightName(0);
    private static final String DOWN1 = ProjectionKind.DOWN.weightName(1);

    @TempDir
    Path dir;

    @Test
    void perSequenceFisherIsTheMeanSquaredGradientOfEachSequencesAnswerLoss() {
        try (IrrFixture f = new IrrFixture(dir, 21)) {
            List<TrainingSequence> safety = f.safety.subList(0, 3);
            Map<String, NDArray> fisher = new SafetyFisher(f.aligned.model(), 1).compute(f.aligned.weights(),
                    List.of(Q0, DOWN1), safety, f.manager, b -> {}, Cancellation.NEVER);
            for (String name : List.of(Q0, DOWN1)) {
                float[] values = fisher.get(name).toFloatArray();
                for (int index : probes(values)) {
                    double expected = 0;
                    for (TrainingSequence s : safety) {
                        double g = numericGradient(f, name, index, List.of(s));
                        expected += g * g / safety.size();
                    }
                    assertThat((double) values[index]).as("F[%s][%d]", name, index)
                            .isCloseTo(expected, within(1e-7 + 0.1 * expected));
                }
            }
        }
    }

    @Test
    void batchedFisherSquaresTheGradientOfEachBatchsMeanLoss() {
        try (IrrFixture f = new IrrFixture(dir, 22)) {
            List<TrainingSequence> safety = f.safety; // 4 sequences: two batches of 2
            Map<String, NDArray> fisher = new SafetyFisher(f.aligned.model(), 2).compute(f.aligned.weights(),
                    List.of(DOWN1), safety, f.manager, b -> {}, Cancellation.NEVER);
            float[] values = fisher.get(DOWN1).toFloatArray();
            for (int index : probes(values)) {
                double g1 = numericGradient(f, DOWN1, index, safety.subList(0, 2));
                double g2 = numericGradient(f, DOWN1, index, safety.subList(2, 4));
                double expected = (g1 * g1 + g2 * g2) / 2;
                assertThat((double) values[index]).as("F[%d]", index).isCloseTo(expected, within(1e-7 + 0.1 * expected));
            }
        }
    }

    @Test
    void reportsProgressAndStopsWhenCancelled() {
        try (IrrFixture f = new IrrFixture(dir, 23)) {
            int[] reported = new int[1];
            assertThatThrownBy(() -> new SafetyFisher(f.aligned.model(), 1).compute(f.aligned.weights(), List.of(Q0),
                    f.safety, f.manager, b -> reported[0] = b, () -> reported[0] >= 2))
                    .isInstanceOf(CancellationException.class);
            assertThat(reported[0]).isEqualTo(2);
        }
    }

    /** The largest entry (a well-conditioned finite difference) and two fixed ones with a sizeable value. */
    private static int[] probes(float[] fisher) {
        int max = 0;
        for (int i = 1; i < fisher.length; i++) {
            if (fisher[i] > fisher[max]) {
                max = i;
            }
        }
        int a = -1;
        int b = -1;
        for (int i = fisher.length / 3; i < fisher.length && b < 0; i++) {
            if (fisher[i] > 0.1 * fisher[max] && i != max) {
                if (a < 0) {
                    a = i;
                } else {
                    b = i;
                }
            }
        }
        assertThat(b).as("entries with a sizeable Fisher").isNotNegative();
        return new int[] {max, a, b};
    }

    /** d (mean answer NLL of the batch) / d w[index] by central differences, step 1e-2. */
    private static double numericGradient(IrrFixture f, String name, int index, List<TrainingSequence> batch) {
        double h = 1e-2;
        return (loss(f, name, index, h, batch) - loss(f, name, index, -h, batch)) / (2 * h);
    }

    private static double loss(IrrFixture f, String name, int index, double step, List<TrainingSequence> batch) {
        try (NDManager scope = f.manager.newSubManager()) {
            NDArray w = f.aligned.weights().tensor(name);
            float[] values = w.toFloatArray();
            values[index] += (float) step;
            Weights moved = f.aligned.weights().withOverrides(Map.of(name, scope.create(values, w.getShape())));
            return CausalLmLoss.loss(f.aligned.model(), moved, batch, scope).getFloat();
        }
    }
}
