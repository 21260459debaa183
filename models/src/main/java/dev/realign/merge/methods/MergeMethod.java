package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;

/**
 * A merge method: how one tensor of the merged model is made from the base tensor and the adapters' deltas.
 * Implementations are immutable and thread-safe; {@link MergeMethods} lists them by mergekit's names.
 */
public interface MergeMethod {
    /**
     * mergekit's name: {@code linear}, {@code task_arithmetic}, {@code ties}, {@code dare_linear},
     * {@code dare_ties}, {@code breadcrumbs}, {@code breadcrumbs_ties}, {@code della}, {@code della_linear},
     * {@code slerp}, {@code model_stock}; and Realign's {@code safety_vector} and {@code safe_lora}.
     */
    String name();

    /** One line on what the method computes, for help texts. */
    String description();

    /** The method-wide parameters it accepts, with defaults and ranges. */
    List<ParameterSpec> parameters();

    /** Fewest adapters (deltas) it merges. */
    int minAdapters();

    /** Most adapters it merges ({@link Integer#MAX_VALUE} for no limit). */
    int maxAdapters();

    /** Whether it reads the adapters' densities; methods that do not refuse a density other than 1. */
    default boolean usesDensity() {
        return false;
    }

    /** Whether it reads the adapters' weights; methods that do not (slerp, model_stock) ignore them. */
    default boolean usesWeights() {
        return true;
    }

    /**
     * The merged tensor: FLOAT32, the base's shape, on the base's device, attached to {@code manager}. The
     * inputs are neither modified nor closed; temporaries are freed before returning.
     *
     * @throws IllegalArgumentException naming the tensor and the offending value: wrong adapter count,
     *     density other than 1 for a method without sparsification, parameters the method does not declare or
     *     out of range, and method-specific conditions
     */
    NDArray merge(TensorMerge input, MergeParameters params, NDManager manager);
}
