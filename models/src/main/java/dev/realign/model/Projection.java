package dev.realign.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * One linear layer as the forward pass sees it: the (possibly merged) matrix, an optional bias, and the
 * LoRA terms applied unmerged on top.
 *
 * @param weight (out, in) in the matrix type
 * @param bias   (out) or null
 * @param lora   unmerged adapters, empty for most profiles
 */
public record Projection(NDArray weight, NDArray bias, List<LoraTerm> lora) {
    public Projection {
        lora = List.copyOf(lora);
    }
}
