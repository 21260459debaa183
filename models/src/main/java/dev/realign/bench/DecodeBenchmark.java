package dev.realign.bench;

import dev.realign.generate.DecodeStep;
import dev.realign.generate.SamplingParams;
import dev.realign.generate.Sequence;
import dev.realign.generate.TextStream;
import dev.realign.model.KvCache;
import dev.realign.model.LoadedModel;
import dev.realign.model.ModelConfig;
import dev.realign.model.TensorLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Single-stream speed of the engine on one model: time to first token for a prompt (prefill plus the
 * first sample) and decode tokens per second after it, greedy, the median of several runs.
 */
public final class DecodeBenchmark {
    public record Result(int promptTokens, int decodeTokens, double timeToFirstTokenMs, double decodeTokensPerSecond,
                         long bytesPerDecodedToken) {}

    private DecodeBenchmark() {}

    public static Result run(LoadedModel model, int promptTokens, int decodeTokens, int runs, long seed) {
        DecodeStep step = new DecodeStep(model.model());
        SplittableRandom random = new SplittableRandom(seed);
        ModelConfig config = model.config();
        int[] prompt = random.ints(promptTokens, 0, config.vocabSize()).toArray();
        once(model, step, Arrays.copyOf(prompt, Math.min(16, promptTokens)), 4); // warm up kernels and the JIT
        double[] ttft = new double[runs];
        double[] rate = new double[runs];
        for (int r = 0; r < runs; r++) {
            double[] times = once(model, step, prompt, decodeTokens);
            ttft[r] = times[0];
            rate[r] = times[1];
        }
        return new Result(promptTokens, decodeTokens, median(ttft), median(rate), bytesPerDecodedToken(model));
    }

    /** @return {time to first token in ms, decode tokens per second} */
    private static double[] once(LoadedModel model, DecodeStep step, int[] prompt, int decodeTokens) {
        SamplingParams greedy = SamplingParams.greedy(decodeTokens + 1);
        try (KvCache cache = new KvCache(model.config(), prompt.length + decodeTokens + 1, model.manager());
             Sequence sequence = new Sequence(prompt, cache, greedy, TextStream.NONE, Set.of())) {
            long start = System.nanoTime();
            step.run(model.weights(), List.of(sequence), model.manager());
            long first = System.nanoTime();
            for (int i = 0; i < decodeTokens; i++) {
                step.run(model.weights(), List.of(sequence), model.manager());
            }
            long end = System.nanoTime();
            return new double[] {(first - start) / 1e6, decodeTokens / ((end - first) / 1e9)};
        }
    }

    /**
     * Weight bytes one decode step must read: every matrix and vector except the embedding table, of which
     * only one row is read (unless it doubles as the tied output head, read whole).
     */
    public static long bytesPerDecodedToken(LoadedModel model) {
        long total = 0;
        for (var entry : model.weights().tensors().entrySet()) {
            var t = entry.getValue();
            long bytes = t.size() * t.getDataType().getNumOfBytes();
            if (entry.getKey().equals(TensorLayout.EMBED) && !model.config().tieWordEmbeddings()) {
                bytes /= model.config().vocabSize();
            }
            total += bytes;
        }
        return total;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
