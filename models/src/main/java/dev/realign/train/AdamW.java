package dev.realign.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW (Loshchilov and Hutter): Adam moments with bias correction and decoupled weight decay, updating the
 * parameters in place from gradients computed on leaf copies (see {@link TrainableWeights}).
 * Moments live in the optimizer's own manager; every temporary is closed as soon as it is used.
 */
public final class AdamW implements AutoCloseable {
    private final List<TrainableParameter> parameters;
    private final OptimizerSettings settings;
    private final NDManager state;
    private final List<NDArray> firstMoments = new ArrayList<>();
    private final List<NDArray> secondMoments = new ArrayList<>();
    private int step;

    public AdamW(List<TrainableParameter> parameters, OptimizerSettings settings, NDManager parent) {
        this.parameters = List.copyOf(parameters);
        this.settings = settings;
        this.state = parent.newSubManager();
        for (TrainableParameter p : this.parameters) {
            firstMoments.add(state.zeros(p.value().getShape()));
            secondMoments.add(state.zeros(p.value().getShape()));
        }
    }

    /**
     * One update from the gradients of one backward pass, scaled by {@code gradientScale} (gradient clipping).
     *
     * @param gradients one per parameter, in order; scaled in place
     */
    public void step(List<NDArray> gradients, double learningRate, double gradientScale) {
        step++;
        double beta1 = settings.beta1();
        double beta2 = settings.beta2();
        double correction1 = 1 - Math.pow(beta1, step);
        double correction2 = 1 - Math.pow(beta2, step);
        for (int i = 0; i < parameters.size(); i++) {
            TrainableParameter p = parameters.get(i);
            NDArray m = firstMoments.get(i);
            NDArray v = secondMoments.get(i);
            NDArray gradient = gradients.get(i);
            if (gradientScale != 1) {
                gradient.muli(gradientScale);
            }
            try (NDArray scaled = gradient.mul(1 - beta1)) {
                m.muli(beta1).addi(scaled);
            }
            try (NDArray squared = gradient.square()) {
                v.muli(beta2).addi(squared.muli(1 - beta2));
            }
            if (p.decay() && settings.weightDecay() > 0) {
                p.value().muli(1 - learningRate * settings.weightDecay());
            }
            try (NDArray denominator = v.div(correction2)) {
                denominator.powi(0.5).addi(settings.epsilon());
                try (NDArray update = m.div(denominator)) {
                    p.value().subi(update.muli(learningRate / correction1));
                }
            }
        }
    }

    /** Global L2 norm of the gradients. */
    public static double gradientNorm(List<NDArray> gradients) {
        double sum = 0;
        for (NDArray gradient : gradients) {
            try (NDArray squares = gradient.square(); NDArray total = squares.sum()) {
                sum += total.getFloat();
            }
        }
        return Math.sqrt(sum);
    }

    @Override
    public void close() {
        state.close();
    }
}
