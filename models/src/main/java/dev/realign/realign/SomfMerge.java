package dev.realign.realign;

/**
 * How SOMF combines several masked task vectors v_i = tau_i * m / mean(m) of one tensor.
 *
 * <p>{@link #TIES} (Yadav et al. 2023) is computed with array operations so that the gradient reaches the mask
 * through the kept values; the trim threshold, the elected sign and the agreement pattern are piecewise constant
 * and carry no gradient, as in any autograd implementation of TIES.
 */
public enum SomfMerge {
    /** sum_i v_i. */
    TASK_ARITHMETIC,
    /**
     * Trim each v_i to its {@code mergeDensity} largest magnitudes, elect each entry's sign as the sign of the sum of
     * the trimmed vectors, and average the trimmed values that agree with it (disjoint mean).
     */
    TIES,
    /**
     * DARE (Yu et al. 2024): keep each entry of each v_i with probability {@code mergeDensity}, rescale the kept ones
     * by 1 / mergeDensity, and sum. The drop pattern is a fixed function of (seed, tensor, adapter), the merge
     * methods' {@code SeededUniforms}, so training and serving see the same one.
     */
    DARE
}
