package dev.realign.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import dev.realign.model.LlamaModel;
import dev.realign.model.Scalars;
import dev.realign.model.SequenceChunk;
import dev.realign.model.Weights;
import java.util.ArrayList;
import java.util.List;

/** Mean next-token cross-entropy over the answer tokens of a batch, through the engine's own forward. */
public final class CausalLmLoss {
    private CausalLmLoss() {}

    /**
     * @return scalar mean negative log-likelihood, attached to {@code scope} (differentiable when the weights
     *         require gradients and a collector records)
     */
    public static NDArray loss(LlamaModel model, Weights weights, List<TrainingSequence> batch, NDManager scope) {
        List<SequenceChunk> chunks = new ArrayList<>(batch.size());
        int targets = 0;
        for (TrainingSequence s : batch) {
            chunks.add(new SequenceChunk(null, s.tokens()));
            targets += s.targets();
        }
        long[] rows = new long[targets];    // which logits row predicts each target
        int[] labels = new int[targets];
        int offset = 0;
        int n = 0;
        for (TrainingSequence s : batch) {
            for (int t = s.lossFrom(); t < s.tokens().length; t++) {
                rows[n] = offset + t - 1;
                labels[n] = s.tokens()[t];
                n++;
            }
            offset += s.tokens().length;
        }
        NDArray logits = model.forward(weights, chunks, scope, true);             // (tokens, vocab)
        NDArray picked = Embedding.embedding(scope.create(rows), logits, SparseFormat.DENSE)
                .singletonOrThrow();                                              // (targets, vocab)
        NDArray logProbs = picked.logSoftmax(-1);
        // gather, not a one-hot product: a log-probability of -inf times 0 would make the loss NaN.
        NDArray labelColumn = scope.create(labels, new Shape(targets, 1)).toType(DataType.INT64, false);
        return Scalars.div(logProbs.gather(labelColumn, 1).sum().neg(), targets); // (targets, 1) -> scalar
    }
}
