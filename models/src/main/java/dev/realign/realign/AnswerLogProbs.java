package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import dev.realign.model.LlamaModel;
import dev.realign.model.SequenceChunk;
import dev.realign.model.Weights;
import dev.realign.train.TrainingSequence;
import java.util.ArrayList;
import java.util.List;

/**
 * log pi(answer | prompt) of each sequence: the sum (not the mean, as DPO uses it) of its answer tokens'
 * log-probabilities, through the engine's own forward, differentiable when the weights require gradients.
 */
public final class AnswerLogProbs {
    private AnswerLogProbs() {}

    /** @return (sequences,) fp32 in {@code scope} */
    public static NDArray of(LlamaModel model, Weights weights, List<TrainingSequence> batch, NDManager scope) {
        List<SequenceChunk> chunks = new ArrayList<>(batch.size());
        int targets = 0;
        for (TrainingSequence s : batch) {
            chunks.add(new SequenceChunk(null, s.tokens()));
            targets += s.targets();
        }
        long[] rows = new long[targets];    // the logits row that predicts each answer token
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
        NDArray logits = model.forward(weights, chunks, scope, true);                     // (tokens, vocab)
        NDArray picked = Embedding.embedding(scope.create(rows), logits, SparseFormat.DENSE)
                .singletonOrThrow();                                                      // (targets, vocab)
        NDArray labelColumn = scope.create(labels, new Shape(targets, 1)).toType(DataType.INT64, false);
        NDArray tokenLogProbs = picked.logSoftmax(-1).gather(labelColumn, 1).reshape(targets); // (targets,)
        // per-sequence slices, not a 0/1 segment matrix: -inf * 0 would poison every sequence with NaN
        NDList sums = new NDList(batch.size());
        int from = 0;
        for (TrainingSequence s : batch) {
            sums.add(tokenLogProbs.get(new NDIndex("{}:{}", from, from + s.targets())).sum());
            from += s.targets();
        }
        return NDArrays.stack(sums);                                                      // (sequences,)
    }
}
