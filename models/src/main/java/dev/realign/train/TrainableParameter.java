package dev.realign.train;

import ai.djl.ndarray.NDArray;

/**
 * One tensor the optimizer updates.
 *
 * @param name  the checkpoint name (a base tensor, or a LoRA factor such as {@code ...q_proj.lora_A})
 * @param value fp32 current values, updated in place by the optimizer (each step differentiates a leaf copy,
 *              see {@link TrainableWeights#bind}); owned by the {@link TrainableWeights} that made it
 * @param decay whether AdamW's weight decay applies (matrices yes; norms and biases no)
 */
public record TrainableParameter(String name, NDArray value, boolean decay) {
}
