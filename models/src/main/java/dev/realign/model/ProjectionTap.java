package dev.realign.model;

import ai.djl.ndarray.NDArray;

/**
 * Sees the input of each linear projection as {@link LlamaModel#runLayer} computes it: what calibration-based
 * weight edits (SparseGPT-style reconstruction, IRR's recalibration) need, without a second model implementation.
 * The array belongs to the forward's scope: copy or reduce it before the scope closes.
 */
@FunctionalInterface
public interface ProjectionTap {
    /** @param input the rows the projection multiplies, fp32 (rows, in) */
    void input(int layer, ProjectionKind kind, NDArray input);
}
