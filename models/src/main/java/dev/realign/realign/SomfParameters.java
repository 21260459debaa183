package dev.realign.realign;

/**
 * The knobs of SOMF (Yi et al. 2024, arXiv 2405.09055): a concrete (relaxed Bernoulli) mask over the task vectors,
 * trained with a DPO loss on safety preference pairs while everything else is frozen.
 *
 * @param temperature  the concrete relaxation's temperature (the paper: 0.5); lower is closer to a hard 0/1 draw
 * @param beta         DPO's inverse temperature on the log-ratio margin (the paper: 0.1)
 * @param steps        optimizer steps on the mask logits
 * @param learningRate Adam's step size on the logits (no warmup, no decay, no weight decay: logits are not weights)
 * @param seed         draws of the concrete noise, the order of the pairs and the serving mask's draw
 * @param batchSize    preference pairs per step
 * @param initialLogit every mask logit's start (the issue: 0, a fair coin per entry; the authors' class defaults
 *                     to 5, almost all ones)
 * @param mergeScale   task arithmetic's lambda for the sum of the masked task vectors: phi_safe + lambda * sum_i
 *                     tau_i * m / mean(m); 1 with one adapter reproduces the fine-tune
 * @param merge        how several masked task vectors combine (one adapter: both forms give the vector itself
 *                     when {@code mergeDensity} is 1)
 * @param mergeDensity for {@link SomfMerge#TIES} the fraction of each masked vector's entries the trim keeps, for
 *                     {@link SomfMerge#DARE} the keep probability (its drop pattern is seeded by {@code seed});
 *                     ignored by task arithmetic
 */
public record SomfParameters(double temperature, double beta, int steps, double learningRate, long seed, int batchSize,
                             double initialLogit, double mergeScale, SomfMerge merge, double mergeDensity) {
    public static final SomfParameters DEFAULTS =
            new SomfParameters(0.5, 0.1, 200, 0.05, 0, 4, 0.0, 1.0, SomfMerge.TASK_ARITHMETIC, 1.0);

    public SomfParameters {
        if (!(temperature > 0) || !Double.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature must be positive and finite (the paper uses 0.5), got "
                    + temperature);
        }
        if (!(beta > 0) || !Double.isFinite(beta)) {
            throw new IllegalArgumentException("beta must be positive and finite (the paper uses 0.1), got " + beta);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        }
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be positive and finite, got " + learningRate);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
        if (!Double.isFinite(initialLogit)) {
            throw new IllegalArgumentException("initialLogit must be finite, got " + initialLogit);
        }
        if (!(mergeScale > 0) || !Double.isFinite(mergeScale)) {
            throw new IllegalArgumentException("mergeScale must be positive and finite, got " + mergeScale);
        }
        if (merge == null) {
            throw new IllegalArgumentException("merge must be given");
        }
        if (!(mergeDensity > 0 && mergeDensity <= 1)) {
            throw new IllegalArgumentException("mergeDensity must be in (0, 1], got " + mergeDensity);
        }
    }

    public SomfParameters withSteps(int value) {
        return new SomfParameters(temperature, beta, value, learningRate, seed, batchSize, initialLogit,
                mergeScale, merge, mergeDensity);
    }

    public SomfParameters withLearningRate(double value) {
        return new SomfParameters(temperature, beta, steps, value, seed, batchSize, initialLogit,
                mergeScale, merge, mergeDensity);
    }

    public SomfParameters withSeed(long value) {
        return new SomfParameters(temperature, beta, steps, learningRate, value, batchSize, initialLogit,
                mergeScale, merge, mergeDensity);
    }

    public SomfParameters withBatchSize(int value) {
        return new SomfParameters(temperature, beta, steps, learningRate, seed, value, initialLogit,
                mergeScale, merge, mergeDensity);
    }

    public SomfParameters withMerge(SomfMerge value, double density) {
        return new SomfParameters(temperature, beta, steps, learningRate, seed, batchSize, initialLogit, mergeScale,
                value, density);
    }

    public SomfParameters withMergeScale(double value) {
        return new SomfParameters(temperature, beta, steps, learningRate, seed, batchSize, initialLogit, value,
                merge, mergeDensity);
    }

    public SomfParameters withBeta(double value) {
        return new SomfParameters(temperature, value, steps, learningRate, seed, batchSize, initialLogit,
                mergeScale, merge, mergeDensity);
    }
}
