package dev.realign.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/** Decode steps of several sequences, attended as one batch, give each sequence's own logits. */
class BatchedDecodeTest {
    private static final int[][] PROMPTS = {{3, 1, 4}, {1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6}, {4, 3, 3, 8, 3, 2, 7, 9, 5}};
    private static final int STEPS = 12; // the second prompt plus 12 tokens passes Mistral's window of 16

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Architecture.class, names = {"LLAMA3", "MISTRAL", "QWEN3"})
    void batchedDecodeEqualsEachSequenceAlone(Architecture arch) {
        Path modelDir = SyntheticModels.write(SyntheticModelSpec.tiny(arch, 21), dir.resolve("m"));
        try (LoadedModel model = LoadedModel.load("m", modelDir, Device.cpu(), ComputeType.F32);
             NDManager manager = NDManager.newBaseManager()) {
            List<float[]> alone = new ArrayList<>();
            for (int[] prompt : PROMPTS) {
                alone.addAll(decode(model, List.of(prompt), manager));
            }
            List<float[]> together = decode(model, List.of(PROMPTS), manager);
            for (int i = 0; i < PROMPTS.length; i++) {
                for (int step = 0; step <= STEPS; step++) {
                    double error = relativeError(together.get(step * PROMPTS.length + i), alone.get(i * (STEPS + 1) + step));
                    assertThat(error).as("%s sequence %d step %d", arch, i, step).isLessThan(1e-5);
                }
            }
        }
    }

    /** A prefill step, then STEPS decode steps feeding fixed tokens; each step's logits per row, step-major. */
    private static List<float[]> decode(LoadedModel model, List<int[]> prompts, NDManager manager) {
        List<float[]> out = new ArrayList<>();
        List<KvCache> caches = new ArrayList<>();
        try {
            for (int i = 0; i < prompts.size(); i++) {
                // Different capacities, all past the longest end: the batched path reads each up to that end.
                caches.add(new KvCache(model.config(), 40 + i, manager));
            }
            for (int step = 0; step <= STEPS; step++) {
                List<SequenceChunk> chunks = new ArrayList<>();
                for (int i = 0; i < prompts.size(); i++) {
                    chunks.add(new SequenceChunk(caches.get(i), step == 0 ? prompts.get(i) : new int[] {(step * 7 + prompts.get(i).length) % 50}));
                }
                try (NDManager scope = manager.newSubManager()) {
                    float[] flat = model.model().forward(model.weights(), chunks, scope, false).toFloatArray();
                    int vocab = flat.length / prompts.size();
                    for (int i = 0; i < prompts.size(); i++) {
                        out.add(Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab));
                    }
                }
            }
        } finally {
            caches.forEach(KvCache::close);
        }
        return out;
    }

    private static double relativeError(float[] a, float[] b) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }
}
