package dev.realign.generate;

import java.util.random.RandomGenerator;

/** The most likely token; the lowest id among ties, so results do not depend on the platform. */
public final class GreedySampler implements Sampler {
    @Override
    public int sample(float[] logits, RandomGenerator random) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
