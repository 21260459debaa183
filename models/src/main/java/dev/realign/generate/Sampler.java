package dev.realign.generate;

import java.util.random.RandomGenerator;

/** Picks the next token from (already processed) logits. */
@FunctionalInterface
public interface Sampler {
    int sample(float[] logits, RandomGenerator random);
}
