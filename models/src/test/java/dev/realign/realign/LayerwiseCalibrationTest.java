package dev.realign.realign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import dev.realign.model.ProjectionKind;
import dev.realign.model.Weights;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Calibration inputs captured at each projection, propagated through the edited layers. */
class LayerwiseCalibrationTest {
    @TempDir
    Path dir;

    @Test
    void layerZeroAttentionHessianIsTwoOverNTimesTheSumOfOuterProductsOfTheNormedEmbeddings() {
        try (IrrFixture f = new IrrFixture(dir, 41);
             LayerwiseCalibration c = new LayerwiseCalibration(f.aligned.model(), f.aligned.weights(), f.calibration,
                     f.manager)) {
            Map<ProjectionKind, double[]> h = c.hessians(f.aligned.weights(),
                    EnumSet.of(ProjectionKind.Q, ProjectionKind.V, ProjectionKind.DOWN));
            assertThat(h).containsOnlyKeys(ProjectionKind.Q, ProjectionKind.V, ProjectionKind.DOWN);
            int hidden = f.aligned.config().hiddenSize();
            assertThat(h.get(ProjectionKind.DOWN)).hasSize(f.aligned.config().intermediateSize()
                    * f.aligned.config().intermediateSize());
            Weights w = f.aligned.weights();
            float[] embed = w.embed().toFloatArray();
            float[] norm = w.layer(0).inputNorm().toFloatArray();
            double[] expected = new double[hidden * hidden];
            long n = 0;
            for (int[] sequence : f.calibration) {
                for (int token : sequence) {
                    double ms = 0;
                    for (int j = 0; j < hidden; j++) {
                        ms += (double) embed[token * hidden + j] * embed[token * hidden + j] / hidden;
                    }
                    double[] x = new double[hidden];
                    for (int j = 0; j < hidden; j++) {
                        x[j] = embed[token * hidden + j] / Math.sqrt(ms + f.aligned.config().rmsNormEps()) * norm[j];
                    }
                    for (int i = 0; i < hidden; i++) {
                        for (int j = 0; j < hidden; j++) {
                            expected[i * hidden + j] += x[i] * x[j];
                        }
                    }
                    n++;
                }
            }
            assertThat(c.tokens()).isEqualTo(n);
            for (int i = 0; i < expected.length; i++) {
                expected[i] *= 2.0 / n;
                assertThat(h.get(ProjectionKind.Q)[i]).as("H[%d]", i).isCloseTo(expected[i], within(1e-4 * (1 + Math.abs(expected[i]))));
            }
            assertThat(h.get(ProjectionKind.V)).containsExactly(h.get(ProjectionKind.Q));
        }
    }

    @Test
    void theStreamAdvancesThroughTheLayerAsEdited() {
        try (IrrFixture f = new IrrFixture(dir, 42)) {
            String down0 = ProjectionKind.DOWN.weightName(0);
            NDArray scaled = f.aligned.weights().tensor(down0).mul(3);
            Weights edited = f.aligned.weights().withOverrides(Map.of(down0, scaled));
            Set<ProjectionKind> q = EnumSet.of(ProjectionKind.Q);
            double[] viaEdit;
            double[] viaBase;
            double[] fresh;
            try (LayerwiseCalibration c = new LayerwiseCalibration(f.aligned.model(), f.aligned.weights(), f.calibration,
                    f.manager)) {
                c.advance(edited);
                assertThat(c.layer()).isEqualTo(1);
                viaEdit = c.hessians(edited, q).get(ProjectionKind.Q);
            }
            try (LayerwiseCalibration c = new LayerwiseCalibration(f.aligned.model(), f.aligned.weights(), f.calibration,
                    f.manager)) {
                c.advance(f.aligned.weights());
                viaBase = c.hessians(f.aligned.weights(), q).get(ProjectionKind.Q);
            }
            try (LayerwiseCalibration c = new LayerwiseCalibration(f.aligned.model(), edited, f.calibration, f.manager)) {
                c.advance(edited);
                fresh = c.hessians(edited, q).get(ProjectionKind.Q);
            }
            assertThat(viaEdit).containsExactly(fresh);
            assertThat(viaEdit).isNotEqualTo(viaBase);
        }
    }
}
