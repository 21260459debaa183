package dev.realign.merge;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.merge.methods.MergeMethods;
import dev.realign.merge.methods.MergeParameters;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.SequenceChunk;
import dev.realign.model.Weights;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The unmerged LoRA path and the materialized merge are the same model. */
class ProfileMergerTest {
    private static final int[] PROMPT = {5, 17, 42, 99, 7, 256, 300, 12, 1, 64, 128, 200};

    @TempDir
    Path dir;

    @Test
    void unmergedLoraAndMaterializedLinearMergeGiveTheSameLogits() {
        Path modelDir = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.QWEN2, 5), dir.resolve("base"));
        try (LoadedModel base = LoadedModel.load("base", modelDir, Device.cpu(), ComputeType.F32);
             NDManager manager = NDManager.newBaseManager()) {
            Path loraDir = RandomLora.write(dir.resolve("lora"), base.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.08, 9);
            try (DeltaSource lora = Adapters.load("task", loraDir, base)) {
                float[] baseLogits = logits(base, base.weights(), manager);
                float[] fullLogits = null;
                for (double ratio : new double[] {0, 0.3, 0.7, 1}) {
                    var inputs = new ProfileMerger.Inputs(List.of(lora), new double[] {ratio}, new double[] {1});
                    double[] coefficients = ProfileMerger.unmergedCoefficients(MergeMethods.LINEAR,
                            MergeParameters.DEFAULTS, inputs);
                    assertThat(coefficients).containsExactly(ratio);
                    Weights unmerged = ProfileMerger.unmerged(base.weights(), List.of(lora), coefficients);
                    try (NDManager profile = manager.newSubManager()) {
                        var merged = ProfileMerger.materialize(base.weights(), MergeMethods.LINEAR,
                                MergeParameters.DEFAULTS, inputs, profile);
                        assertThat(merged.overrides()).hasSize(lora.targets().size());
                        float[] a = logits(base, unmerged, manager);
                        float[] b = logits(base, base.weights().withOverrides(merged.overrides()), manager);
                        assertThat(relativeError(a, b)).as("ratio %s", ratio).isLessThan(1e-4);
                        if (ratio == 0) {
                            assertThat(relativeError(a, baseLogits)).isLessThan(1e-6);
                        }
                        if (ratio == 1) {
                            fullLogits = a;
                        }
                    }
                }
                // The adapter really changes the model, so the agreement above is not vacuous.
                assertThat(relativeError(fullLogits, baseLogits)).isGreaterThan(1e-2);
            }
        }
    }

    private static float[] logits(LoadedModel model, Weights weights, NDManager manager) {
        try (NDManager step = manager.newSubManager()) {
            NDArray out = model.model().forward(weights, List.of(new SequenceChunk(null, PROMPT)), step, true);
            return out.toFloatArray();
        }
    }

    /** max |a - b| / max |b|. */
    static double relativeError(float[] a, float[] b) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }
}
