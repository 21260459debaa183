package dev.realign.merge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.realign.merge.methods.MergeMethods;
import dev.realign.merge.methods.MergeParameters;
import dev.realign.model.ComputeType;
import dev.realign.model.KvCache;
import dev.realign.model.LoadedModel;
import dev.realign.model.LoraBatch;
import dev.realign.model.SequenceChunk;
import dev.realign.model.Weights;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rows of the base and of unmerged-LoRA profiles in one forward give each row's own logits. */
class LoraBatchTest {
    private static final int[][] PROMPTS = {
            {5, 17, 42, 99, 7}, {256, 300, 12}, {1, 64, 128, 200, 33, 9, 4}, {77, 3}, {11, 12, 13, 14}, {8, 6, 4}};

    @TempDir
    Path dir;

    @Test
    void aMixedBatchGivesEveryRowTheLogitsItGetsAlone() {
        Path modelDir = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.QWEN2, 11), dir.resolve("base"));
        try (LoadedModel base = LoadedModel.load("base", modelDir, Device.cpu(), ComputeType.F32);
             NDManager manager = NDManager.newBaseManager()) {
            Path aDir = RandomLora.write(dir.resolve("a"), base.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.08, 1);
            Path bDir = RandomLora.write(dir.resolve("b"), base.weights(),
                    List.of("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"), 2, 4, 0.1, 2);
            Path cDir = RandomLora.write(dir.resolve("c"), base.weights(), List.of("self_attn.q_proj", "mlp.up_proj"),
                    8, 8, 0.05, 3);
            try (DeltaSource a = Adapters.load("a", aDir, base); DeltaSource b = Adapters.load("b", bDir, base);
                 DeltaSource c = Adapters.load("c", cDir, base)) {
                // base, adapter a at 0.5, adapter b at 0.8, adapter a again at 1.2, a + b together, and c: on
                // q_proj three distinct adapters run fused, on the other projections one or two run apart
                List<Weights> rows = List.of(base.weights(), linear(base, List.of(a), 0.5),
                        linear(base, List.of(b), 0.8), linear(base, List.of(a), 1.2), linear(base, List.of(a, b), 0.7),
                        linear(base, List.of(c), -0.9));
                for (Weights w : rows) {
                    assertThat(w.withoutLora()).isSameAs(base.weights());
                }
                List<float[]> alone = new ArrayList<>();
                for (int i = 0; i < rows.size(); i++) {
                    alone.addAll(generate(base, List.of(rows.get(i)), List.of(PROMPTS[i]), manager));
                }
                List<float[]> together = generate(base, rows, List.of(PROMPTS), manager);
                for (int i = 0; i < rows.size(); i++) {
                    for (int step = 0; step < 3; step++) {
                        float[] expected = alone.get(i * 3 + step);
                        float[] actual = together.get(step * rows.size() + i);
                        assertThat(ProfileMergerTest.relativeError(actual, expected))
                                .as("row %d step %d", i, step).isLessThan(1e-5);
                    }
                }
                // Which shape each projection took: q fuses a, b and c (ranks 4 + 2 + 8), v keeps a and b apart.
                try (NDManager scope = manager.newSubManager()) {
                    List<SequenceChunk> chunks = rows.stream().map(w -> new SequenceChunk(null, new int[] {1})).toList();
                    Weights combined = LoraBatch.combine(rows, chunks, scope);
                    assertThat(combined.layer(0).q().lora()).singleElement()
                            .satisfies(t -> assertThat(t.rowCoefficients().getShape()).isEqualTo(new Shape(6, 14)));
                    assertThat(combined.layer(0).v().lora()).hasSize(2)
                            .allSatisfy(t -> assertThat(t.rowCoefficients().getShape()).isEqualTo(new Shape(6, 1)));
                }
                // The adapters really change the rows, so the agreement is not vacuous.
                assertThat(ProfileMergerTest.relativeError(
                        generate(base, List.of(base.weights()), List.of(PROMPTS[1]), manager).getFirst(),
                        alone.get(3))).isGreaterThan(1e-2);
            }
        }
    }

    @Test
    void viewsOverDifferentTensorsCannotShareAForward() {
        Path modelDir = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 3), dir.resolve("base"));
        try (LoadedModel base = LoadedModel.load("base", modelDir, Device.cpu(), ComputeType.F32);
             NDManager manager = NDManager.newBaseManager()) {
            String name = "model.layers.0.mlp.up_proj.weight";
            Weights merged = base.weights().withOverrides(Map.of(name, base.weights().tensor(name).mul(2)));
            List<SequenceChunk> chunks = List.of(new SequenceChunk(null, PROMPTS[0]), new SequenceChunk(null, PROMPTS[1]));
            assertThatThrownBy(() -> LoraBatch.combine(List.of(base.weights(), merged), chunks, manager))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("share the base tensors");
        }
    }

    private static Weights linear(LoadedModel base, List<DeltaSource> adapters, double weight) {
        double[] weights = adapters.stream().mapToDouble(a -> weight).toArray();
        double[] densities = adapters.stream().mapToDouble(a -> 1).toArray();
        double[] coefficients = ProfileMerger.unmergedCoefficients(MergeMethods.LINEAR, MergeParameters.DEFAULTS,
                new ProfileMerger.Inputs(adapters, weights, densities));
        return ProfileMerger.unmerged(base.weights(), adapters, coefficients);
    }

    /**
     * The prompts, each on its weights, as one batch: a prefill step and two decode steps (feeding token
     * 3 and 4), with KV caches. Returns each step's logits per row, step-major.
     */
    private static List<float[]> generate(LoadedModel base, List<Weights> weights, List<int[]> prompts,
                                          NDManager manager) {
        List<float[]> out = new ArrayList<>();
        List<KvCache> caches = new ArrayList<>();
        try {
            for (int i = 0; i < prompts.size(); i++) {
                caches.add(new KvCache(base.config(), 16, manager));
            }
            for (int step = 0; step < 3; step++) {
                List<SequenceChunk> chunks = new ArrayList<>();
                for (int i = 0; i < prompts.size(); i++) {
                    chunks.add(new SequenceChunk(caches.get(i), step == 0 ? prompts.get(i) : new int[] {step + 2}));
                }
                try (NDManager scope = manager.newSubManager()) {
                    Weights combined = LoraBatch.combine(weights, chunks, scope);
                    float[] flat = base.model().forward(combined, chunks, scope, false).toFloatArray();
                    int vocab = flat.length / prompts.size();
                    for (int i = 0; i < prompts.size(); i++) {
                        out.add(java.util.Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab));
                    }
                }
            }
        } finally {
            caches.forEach(KvCache::close);
        }
        return out;
    }
}
