package dev.realign.model;

import ai.djl.ndarray.NDArray;

/** One decoder layer's tensors, in Hugging Face's (out, in) layout. Q/K norms are null when the family has none. */
public record LayerWeights(
        NDArray inputNorm,   // (hidden)
        Projection q,        // (heads * headDim, hidden)
        Projection k,        // (kvHeads * headDim, hidden)
        Projection v,        // (kvHeads * headDim, hidden)
        NDArray qNorm,       // (headDim) or null
        NDArray kNorm,       // (headDim) or null
        Projection o,        // (hidden, heads * headDim)
        NDArray postNorm,    // (hidden)
        Projection gate,     // (intermediate, hidden)
        Projection up,       // (intermediate, hidden)
        Projection down) {   // (hidden, intermediate)
}
