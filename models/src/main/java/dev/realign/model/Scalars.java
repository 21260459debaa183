package dev.realign.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Tensor-and-number arithmetic that a backward pass can differentiate. Code that autograd may record uses these
 * instead of DJL's {@code NDArray.mul(Number)}, {@code div(Number)}, {@code add(Number)} and
 * {@code maximum(Number)}.
 *
 * <p>Why: DJL 0.36 wraps the number in a tensor over a Java direct buffer ({@code torch::from_blob}), applies the op
 * and closes the wrapper at once. Autograd keeps the wrapper's tensor for the backward pass (a product's gradient
 * is the other factor), but the buffer behind it now belongs to nobody, and after Java's collector frees it the
 * backward pass reads whatever was allocated there: gradients of 1e17..NaN with a normal loss, or quietly wrong
 * ones (GradientsUnderGarbageCollectionTest). A scalar made by {@code torch::full} owns its memory, and autograd's
 * reference keeps it alive. Outside autograd DJL's forms are safe (the op has read the number before the close).
 *
 * <p>The scalar is fp32 and 0-dimensional, as DJL's own wrapper of a float is, so type promotion is unchanged: an
 * fp16 or bf16 tensor stays fp16 or bf16.
 */
public final class Scalars {
    private Scalars() {}

    /** A 0-dimensional fp32 tensor of {@code value} in {@code like}'s manager, in libtorch-owned memory. */
    public static NDArray of(NDArray like, double value) {
        return like.getManager().full(new Shape(), (float) value, DataType.FLOAT32);
    }

    public static NDArray mul(NDArray x, double value) {
        return x.mul(of(x, value));
    }

    public static NDArray div(NDArray x, double value) {
        return x.div(of(x, value));
    }

    public static NDArray add(NDArray x, double value) {
        return x.add(of(x, value));
    }

    public static NDArray maximum(NDArray x, double value) {
        return x.maximum(of(x, value));
    }
}
