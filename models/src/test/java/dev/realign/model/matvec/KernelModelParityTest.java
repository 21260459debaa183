package dev.realign.model.matvec;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.checkpoint.DType;
import dev.realign.model.ComputeType;
import dev.realign.model.KvCache;
import dev.realign.model.LoadedModel;
import dev.realign.model.SequenceChunk;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The whole model with the decode kernel against the libtorch path, on the synthetic tiny models of every
 * family, loaded from safetensors (so the kernel reads the memory-mapped checkpoint): a prefill, a
 * 5-token chunk and single-token steps (the kernel), a 7-token prefill of a second sequence and a
 * 2-sequence batched step. Logits must agree within 1e-4 of the row's largest logit. At F32 the first
 * prefill has 12 tokens (libtorch in both runs, so the kernel's steps read a cache libtorch wrote).
 *
 * <p>At F16 the reference is the same checkpoint loaded as F32 (every F16 value widened exactly) through
 * libtorch: the kernel accumulates F16 weights in fp32 with fp32 inputs, while libtorch's F16 product
 * rounds its input and result to F16, so the old F16 path is not the exact reference (its distance is
 * printed for comparison). The prefill is 8 tokens there and single F16 rows are sent to the kernel too
 * (by default they stay on libtorch), so every product of the F16 run is the kernel's.
 */
class KernelModelParityTest {
    static final double TOLERANCE = 1e-4;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void f32LogitsMatchTheLibtorchPath(Architecture arch) {
        Path model = dir.resolve("f32");
        SyntheticModels.write(SyntheticModelSpec.tiny(arch, 5), model);
        try (LoadedModel loaded = LoadedModel.load("tiny", model, Device.cpu(), ComputeType.AUTO)) {
            List<float[]> kernel = run(loaded, true, 12);
            List<float[]> torch = run(loaded, false, 12);
            assertClose(arch + " f32", kernel, torch);
        }
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void f16LogitsMatchTheExactlyWidenedModel(Architecture arch) {
        Path model = dir.resolve("f16");
        SyntheticModels.write(SyntheticModelSpec.tiny(arch, 5).withDtype(DType.F16), model);
        try (LoadedModel f16 = LoadedModel.load("tiny", model, Device.cpu(), ComputeType.F16);
             LoadedModel widened = LoadedModel.load("tiny", model, Device.cpu(), ComputeType.F32)) {
            int before = DecodeLinear.f16MinRows(1); // every product of the F16 run through the kernel
            List<float[]> kernel;
            try {
                kernel = run(f16, true, 8);
            } finally {
                DecodeLinear.f16MinRows(before);
            }
            List<float[]> reference = run(widened, false, 8);
            assertClose(arch + " f16", kernel, reference);
            System.out.printf("%s f16: kernel %.2e, libtorch f16 path %.2e (relative to the largest logit)%n", arch,
                    worst(kernel, reference), worst(run(f16, false, 8), reference));
        }
    }

    /** Logit rows of a fixed token schedule; the kernel on or off for the whole run. */
    private static List<float[]> run(LoadedModel loaded, boolean useKernel, int prefill) {
        boolean before = DecodeLinear.setEnabled(useKernel);
        int vocab = loaded.config().vocabSize();
        SplittableRandom random = new SplittableRandom(3);
        int[] tokens = random.ints(40, 0, vocab).toArray();
        List<float[]> rows = new ArrayList<>();
        try (NDManager sequence = loaded.manager().newSubManager();
             KvCache first = new KvCache(loaded.config(), 64, sequence);
             KvCache second = new KvCache(loaded.config(), 64, sequence)) {
            step(loaded, List.of(new SequenceChunk(first, Arrays.copyOfRange(tokens, 0, prefill))), true, rows);
            step(loaded, List.of(new SequenceChunk(first, Arrays.copyOfRange(tokens, prefill, prefill + 5))), true, rows);
            for (int t = prefill + 5; t < 23; t++) {
                step(loaded, List.of(new SequenceChunk(first, new int[] {tokens[t]})), false, rows);
            }
            step(loaded, List.of(new SequenceChunk(second, Arrays.copyOfRange(tokens, 23, 30))), false, rows);
            step(loaded, List.of(new SequenceChunk(first, new int[] {tokens[30]}),
                    new SequenceChunk(second, new int[] {tokens[31]})), false, rows);
        } finally {
            DecodeLinear.setEnabled(before);
        }
        assertThat(rows).allSatisfy(r -> assertThat(r).hasSize(vocab));
        return rows;
    }

    private static void step(LoadedModel loaded, List<SequenceChunk> chunks, boolean allPositions, List<float[]> rows) {
        try (NDManager scope = loaded.manager().newSubManager()) {
            NDArray logits = loaded.model().forward(loaded.weights(), chunks, scope, allPositions); // (rows, vocab)
            float[] flat = logits.toFloatArray();
            int vocab = loaded.config().vocabSize();
            for (int r = 0; r < flat.length / vocab; r++) {
                rows.add(Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab));
            }
        }
    }

    private static void assertClose(String what, List<float[]> got, List<float[]> want) {
        assertThat(got).hasSameSizeAs(want);
        assertThat(worst(got, want)).as(what + ": largest logit difference / largest logit").isLessThanOrEqualTo(TOLERANCE);
    }

    private static double worst(List<float[]> got, List<float[]> want) {
        double worst = 0;
        for (int r = 0; r < want.size(); r++) {
            double scale = 0;
            double diff = 0;
            for (int i = 0; i < want.get(r).length; i++) {
                scale = Math.max(scale, Math.abs(want.get(r)[i]));
                diff = Math.max(diff, Math.abs(got.get(r)[i] - want.get(r)[i]));
            }
            worst = Math.max(worst, diff / scale);
        }
        return worst;
    }
}
