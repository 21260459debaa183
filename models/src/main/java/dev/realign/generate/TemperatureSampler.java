package dev.realign.generate;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Samples from softmax(logits / temperature) restricted to the top-k tokens and then to the smallest set
 * whose probability reaches top-p (Hugging Face's order: temperature, top-k, top-p).
 */
public final class TemperatureSampler implements Sampler {
    private final double temperature;
    private final int topK;
    private final double topP;

    public TemperatureSampler(double temperature, int topK, double topP) {
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0 for sampling, got " + temperature);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
    }

    @Override
    public int sample(float[] logits, RandomGenerator random) {
        int[] candidates = candidates(logits);
        double max = Double.NEGATIVE_INFINITY;
        for (int id : candidates) {
            max = Math.max(max, logits[id]);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            throw new IllegalStateException("every token is masked: nothing to sample");
        }
        double[] weights = new double[candidates.length];
        double sum = 0;
        for (int i = 0; i < candidates.length; i++) {
            weights[i] = Math.exp((logits[candidates[i]] - max) / temperature);
            sum += weights[i];
        }
        int keep = candidates.length;
        if (topP < 1) {
            // candidates are sorted by descending logit here: keep the smallest prefix reaching top_p.
            double mass = 0;
            for (int i = 0; i < candidates.length; i++) {
                mass += weights[i] / sum;
                if (mass >= topP) {
                    keep = i + 1;
                    break;
                }
            }
            sum = 0;
            for (int i = 0; i < keep; i++) {
                sum += weights[i];
            }
        }
        double target = random.nextDouble() * sum;
        for (int i = 0; i < keep; i++) {
            target -= weights[i];
            if (target < 0) {
                return candidates[i];
            }
        }
        return candidates[keep - 1]; // rounding left a sliver of mass: the last kept token takes it
    }

    /**
     * The tokens sampling may pick: the top-k by logit (best first) when k is set; all tokens sorted by
     * logit when only top-p is set; all tokens in id order otherwise (no sort needed).
     */
    private int[] candidates(float[] logits) {
        if (topK > 0) {
            return TopK.indices(logits, topK);
        }
        if (topP < 1) {
            return TopK.indices(logits, logits.length);
        }
        int[] all = new int[logits.length];
        Arrays.setAll(all, i -> i);
        return all;
    }
}
