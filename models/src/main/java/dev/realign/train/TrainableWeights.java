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
 * gradients accumulate on long-lived tensors: with DJL 0.36 / libtorch 2.7, the first backward after an
 * in-place optimizer update sporadically produced corrupt gradients (1e30 or NaN, never reproducible on a
 * rerun of the same batch) when gradients were accumulated across steps and zeroed in place. Fresh leaves
 * per step make every backward start from a clean graph and cost one copy of the parameters per step.
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
