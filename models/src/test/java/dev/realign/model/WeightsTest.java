package dev.realign.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightsTest {
    @TempDir
    Path dir;

    @Test
    void withDeltasAddsEachDeltaToItsTensorAndSharesTheRest() {
        Path modelDir = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.QWEN2, 3), dir.resolve("base"));
        try (LoadedModel base = LoadedModel.load("base", modelDir, Device.cpu(), ComputeType.F32);
             NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Weights weights = base.weights();
            String changed = "model.layers.0.mlp.up_proj.weight";
            String kept = "model.layers.0.mlp.down_proj.weight";
            NDArray delta = manager.ones(weights.tensor(changed).getShape()).mul(0.25f);

            Weights moved = weights.withDeltas(Map.of(changed, delta), manager);

            float[] before = weights.tensor(changed).toFloatArray();
            float[] after = moved.tensor(changed).toFloatArray();
            for (int i = 0; i < before.length; i++) {
                assertThat((double) after[i]).isCloseTo(before[i] + 0.25, org.assertj.core.data.Offset.offset(1e-6));
            }
            assertThat(moved.tensor(kept)).isSameAs(weights.tensor(kept));
            assertThat(moved.tensor(changed).getManager()).isSameAs(manager);
            assertThatThrownBy(() -> weights.withDeltas(Map.of("model.layers.9.nope.weight", delta), manager))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("model.layers.9.nope.weight");
        }
    }
}
