package dev.realign.model;

import ai.djl.ndarray.NDArray;

/**
 * A LoRA adapter applied unmerged to one projection: y += coefficient * (x A^T) B^T, where the coefficient
 * is the adapter's scale (alpha / r) times the profile's weight for it. Serving LoRA this way costs no
 * merge and no memory per ratio.
 *
 * <p>When rows of several profiles share one forward ({@link LoraBatch}), the coefficient differs per row:
 * {@code rowCoefficients} then holds it, zero for rows whose profile does not use the adapter, and
 * {@code coefficient} is ignored. A column of coefficients costs the same four ops as a scalar and, for
 * decode-sized batches, less than gathering the rows that use the term and scattering them back
 * (docs/benchmarks.md, "Per-row LoRA").
 *
 * @param a               (rank, in), fp32
 * @param b               (out, rank), fp32
 * @param rowCoefficients (rows, 1) fp32 for the step's rows, or (rows, rank) when several adapters are fused
 *                        into one term (each row's coefficient on its adapter's rank block); null:
 *                        {@code coefficient} for every row
 */
public record LoraTerm(NDArray a, NDArray b, float coefficient, NDArray rowCoefficients) {
    public LoraTerm(NDArray a, NDArray b, float coefficient) {
        this(a, b, coefficient, null);
    }
}
