package dev.realign.train;

/**
 * AdamW with linear warmup and cosine decay, and the batch it sees per step.
 *
 * @param steps         optimizer steps
 * @param batchSize     sequences per step
 * @param learningRate  peak learning rate (after warmup)
 * @param warmupSteps   steps of linear warmup from 0
 * @param minLrFraction the cosine ends at learningRate * minLrFraction
 * @param weightDecay   decoupled weight decay (AdamW), applied to matrices only
 * @param clipNorm      global gradient-norm clip; 0 turns clipping off
 * @param seed          order of the batches
 */
public record OptimizerSettings(int steps, int batchSize, double learningRate, int warmupSteps, double minLrFraction,
        double weightDecay, double beta1, double beta2, double epsilon, double clipNorm, long seed) {
    public OptimizerSettings {
        if (steps < 1 || batchSize < 1 || warmupSteps < 0) {
            throw new IllegalArgumentException("steps and batchSize must be >= 1 and warmupSteps >= 0");
        }
        if (!(learningRate > 0) || minLrFraction < 0 || minLrFraction > 1 || weightDecay < 0 || clipNorm < 0) {
            throw new IllegalArgumentException("learning rate must be > 0, minLrFraction in [0, 1], decay and clip >= 0");
        }
        if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1 || !(epsilon > 0)) {
            throw new IllegalArgumentException("betas must be in [0, 1) and epsilon > 0");
        }
    }

    /** The usual transformer settings: betas 0.9/0.95, epsilon 1e-8, decay 0.1, clip 1, 5% warmup, floor 10%. */
    public static OptimizerSettings of(int steps, int batchSize, double learningRate, long seed) {
        return new OptimizerSettings(steps, batchSize, learningRate, Math.max(1, steps / 20), 0.1, 0.1, 0.9, 0.95, 1e-8,
                1.0, seed);
    }

    public OptimizerSettings withSteps(int newSteps) {
        return new OptimizerSettings(newSteps, batchSize, learningRate, Math.max(Math.min(warmupSteps, newSteps / 2), 0),
                minLrFraction, weightDecay, beta1, beta2, epsilon, clipNorm, seed);
    }

    /** The same settings with another decoupled weight decay (fine-tunes use 0: decay toward zero is no part of a task). */
    public OptimizerSettings withWeightDecay(double decay) {
        return new OptimizerSettings(steps, batchSize, learningRate, warmupSteps, minLrFraction, decay, beta1, beta2,
                epsilon, clipNorm, seed);
    }

    /** Learning rate at a step (0-based): linear warmup, then cosine down to the floor. */
    public double learningRateAt(int step) {
        if (step < warmupSteps) {
            return learningRate * (step + 1) / warmupSteps;
        }
        double progress = steps == warmupSteps ? 1 : (double) (step - warmupSteps) / (steps - warmupSteps);
        double cosine = 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
        return learningRate * (minLrFraction + (1 - minLrFraction) * cosine);
    }
}
