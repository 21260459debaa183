package dev.realign.model;

import ai.djl.ndarray.NDArray;

/**
 * A LoRA adapter applied unmerged to one projection: y += coefficient * (x A^T) B^T, where the coefficient
 * is the adapter's scale (alpha / r) times the profile's weight for it. Serving LoRA this way costs no
 * merge and no memory per ratio.
 *
 * @param a (rank, in), fp32
 * @param b (out, rank), fp32
 */
public record LoraTerm(NDArray a, NDArray b, float coefficient) {
}
