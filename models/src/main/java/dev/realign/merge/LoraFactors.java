package dev.realign.merge;

import ai.djl.ndarray.NDArray;
import java.util.Objects;

/**
 * One LoRA target's factors, for applying an adapter unmerged: {@code y += scale * (x A^T) B^T}, which equals
 * {@code x delta^T} with {@code delta = scale * B @ A}. The arrays belong to the adapter that handed them out
 * and die with it ({@link DeltaSource#close()}); never close them yourself.
 *
 * @param a     (r, in) fp32
 * @param b     (out, r) fp32
 * @param scale lora_alpha / r, or lora_alpha / sqrt(r) with rsLoRA (per-module r and alpha already resolved)
 */
public record LoraFactors(NDArray a /* (r, in) fp32 */, NDArray b /* (out, r) fp32 */, float scale) {
    public LoraFactors {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
    }

    /** The rank r. */
    public int rank() {
        return Math.toIntExact(a.getShape().get(0));
    }
}
