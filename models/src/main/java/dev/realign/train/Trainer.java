package dev.realign.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.realign.model.LlamaModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Supervised training of the Llama-family forward on DJL autograd: shuffled batches, answer-only
 * cross-entropy, global-norm clipping, AdamW with warmup and cosine decay. The same {@link LlamaModel} that
 * serves computes the loss, so what is trained is exactly what is served.
 */
public final class Trainer {
    /** Reported every {@code progressEvery} steps and at the last step. */
    public record Progress(int step, int steps, double loss, double learningRate, double gradientNorm,
                           Duration elapsed) {}

    /** The run's first and last training losses (means over the first/last reporting window) and validation loss. */
    public record Result(int steps, double firstLoss, double finalLoss, double validationLoss, Duration elapsed) {}

    /** Validation loss is a mean over at most this many sequences: enough to compare runs, cheap to compute. */
    static final int MAX_VALIDATION = 512;
    private static final int EVAL_BATCH = 64;

    private final LlamaModel model;
    private final int progressEvery;

    public Trainer(LlamaModel model, int progressEvery) {
        this.model = model;
        this.progressEvery = Math.max(1, progressEvery);
    }

    public Result train(TrainableWeights trainable, List<TrainingSequence> train, List<TrainingSequence> validation,
                        OptimizerSettings settings, Consumer<Progress> progress) {
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no training sequences");
        }
        long started = System.nanoTime();
        List<TrainingSequence> order = new ArrayList<>(train);
        Random random = new Random(settings.seed());
        Collections.shuffle(order, random);
        int cursor = 0;
        double firstLoss = Double.NaN;
        double windowLoss = 0;
        int windowSteps = 0;
        double lastWindow = Double.NaN;
        NDManager parent = trainable.parameters().getFirst().value().getManager();
        try (AdamW optimizer = new AdamW(trainable.parameters(), settings, parent)) {
            for (int step = 0; step < settings.steps(); step++) {
                List<TrainingSequence> batch = new ArrayList<>(settings.batchSize());
                for (int i = 0; i < settings.batchSize(); i++) {
                    if (cursor == order.size()) {
                        Collections.shuffle(order, random);
                        cursor = 0;
                    }
                    batch.add(order.get(cursor++));
                }
                double lr = settings.learningRateAt(step);
                double loss;
                double norm;
                try (StepOutcome done = step(trainable, batch, parent)) {
                    loss = done.loss();
                    norm = done.norm();
                    if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
                        throw new IllegalStateException("training diverged at step " + step + ": loss " + loss
                                + ", gradient norm " + norm + " (lower the learning rate)");
                    }
                    double scale = settings.clipNorm() > 0 && norm > settings.clipNorm()
                            ? settings.clipNorm() / norm : 1;
                    optimizer.step(done.gradients(), lr, scale);
                }
                windowLoss += loss;
                windowSteps++;
                boolean report = (step + 1) % progressEvery == 0 || step + 1 == settings.steps();
                if (report) {
                    lastWindow = windowLoss / windowSteps;
                    if (Double.isNaN(firstLoss)) {
                        firstLoss = lastWindow;
                    }
                    progress.accept(new Progress(step + 1, settings.steps(), lastWindow, lr, norm, since(started)));
                    windowLoss = 0;
                    windowSteps = 0;
                }
            }
        }
        double validationLoss = validation.isEmpty() ? Double.NaN
                : evaluate(trainable, validation.subList(0, Math.min(validation.size(), MAX_VALIDATION)), EVAL_BATCH);
        return new Result(settings.steps(), firstLoss, lastWindow, validationLoss, since(started));
    }

    /**
     * One forward and backward on fresh leaves. Its gradients live in the outcome's scope, closed with it.
     */
    private StepOutcome step(TrainableWeights trainable, List<TrainingSequence> batch, NDManager parent) {
        NDManager scope = parent.newSubManager();
        try {
            TrainableWeights.Binding binding = trainable.bind(scope);
            double loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray value = CausalLmLoss.loss(model, binding.weights(), batch, scope);
                collector.backward(value);
                loss = value.getFloat();
            }
            List<NDArray> gradients = new ArrayList<>(binding.leaves().size());
            for (NDArray leaf : binding.leaves()) {
                NDArray gradient = leaf.getGradient();
                gradient.attach(scope);
                gradients.add(gradient);
            }
            return new StepOutcome(scope, loss, AdamW.gradientNorm(gradients), gradients);
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
    }

    /** A step's loss and gradients, which live in the outcome's scope. */
    private record StepOutcome(NDManager scope, double loss, double norm, List<NDArray> gradients)
            implements AutoCloseable {
        @Override
        public void close() {
            scope.close();
        }
    }

    /** Mean answer loss over the sequences (no gradients). */
    public double evaluate(TrainableWeights trainable, List<TrainingSequence> sequences, int batchSize) {
        NDManager parent = trainable.parameters().getFirst().value().getManager();
        double weighted = 0;
        long targets = 0;
        for (int from = 0; from < sequences.size(); from += batchSize) {
            List<TrainingSequence> batch = sequences.subList(from, Math.min(sequences.size(), from + batchSize));
            int batchTargets = batch.stream().mapToInt(TrainingSequence::targets).sum();
            try (NDManager scope = parent.newSubManager()) {
                weighted += CausalLmLoss.loss(model, trainable.weights(), batch, scope).getFloat() * batchTargets;
            }
            targets += batchTargets;
        }
        return weighted / targets;
    }

    private static Duration since(long started) {
        return Duration.ofNanos(System.nanoTime() - started);
    }
}
