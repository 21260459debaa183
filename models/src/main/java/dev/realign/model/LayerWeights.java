package dev.realign.model;

import ai.djl.ndarray.NDArray;

/**
 * One decoder layer's tensors, in Hugging Face's (out, in) layout. Optional tensors are null when the
 * family has none (biases, q/k norms).
 */
public record LayerWeights(
        NDArray inputNorm,   // (hidden)
        NDArray q,           // (heads * headDim, hidden)
        NDArray k,           // (kvHeads * headDim, hidden)
        NDArray v,           // (kvHeads * headDim, hidden)
        NDArray qBias,       // (heads * headDim) or null
        NDArray kBias,       // (kvHeads * headDim) or null
        NDArray vBias,       // (kvHeads * headDim) or null
        NDArray qNorm,       // (headDim) or null
        NDArray kNorm,       // (headDim) or null
        NDArray o,           // (hidden, heads * headDim)
        NDArray oBias,       // (hidden) or null
        NDArray postNorm,    // (hidden)
        NDArray gate,        // (intermediate, hidden)
        NDArray up,          // (intermediate, hidden)
        NDArray down) {      // (hidden, intermediate)
}
