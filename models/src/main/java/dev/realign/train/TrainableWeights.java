package dev.realign.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.model.Weights;
import java.util.List;

/**
 * What a training run updates and the weights view the engine's forward reads them through: every tensor of
 * the model (full fine-tuning) or LoRA factors over frozen base weights. Closing frees the trainable tensors.
 *
 * <p>Each step differentiates fresh leaf copies of the parameters ({@link #bind}) instead of letting
 * gradients accumulate on long-lived tensors, so every backward starts from a clean graph and nothing needs
 * zeroing in place, at the cost of one copy of the parameters per step. (It was first chosen against sporadic
 * gradients of 1e30 or NaN; their cause turned out to be freed scalar buffers that the backward pass read, see
 * {@link dev.realign.model.Scalars}.)
 */
public interface TrainableWeights extends AutoCloseable {
    /** The current parameter values as a weights view (evaluation, export); not differentiable. */
    Weights weights();

    List<TrainableParameter> parameters();

    /**
     * Leaf copies of the parameters in {@code scope}, recording gradients, and the weights view over them.
     *
     * @return leaves in the order of {@link #parameters()}
     */
    Binding bind(NDManager scope);

    /** One step's differentiable view. */
    record Binding(Weights weights, List<NDArray> leaves) {}

    @Override
    void close();
}
