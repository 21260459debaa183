package dev.realign.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.model.LlamaModel;
import dev.realign.model.LoraBatch;
import dev.realign.model.SequenceChunk;
import dev.realign.model.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * One engine step: every given sequence advances by one forward (its prompt on the first step, its last
 * token afterwards) and samples one token. All sequences in a step share the base tensors; their matrix
 * products run as one batch, and sequences of unmerged-LoRA profiles add their adapters per row
 * ({@link LoraBatch}).
 */
public final class DecodeStep {
    private final LlamaModel model;

    public DecodeStep(LlamaModel model) {
        this.model = model;
    }

    public LlamaModel model() {
        return model;
    }

    /** Outputs in the order of {@code sequences}; native memory of the step is freed before returning. */
    public List<StepOutput> run(Weights weights, List<Sequence> sequences, NDManager parent) {
        return run(Collections.nCopies(sequences.size(), weights), sequences, parent);
    }

    /**
     * Each sequence on its own weights, all sharing {@link Weights#withoutLora()} (the base, or one
     * materialized profile): one forward whatever unmerged LoRA terms each adds.
     */
    public List<StepOutput> run(List<Weights> weights, List<Sequence> sequences, NDManager parent) {
        List<SequenceChunk> chunks = new ArrayList<>(sequences.size());
        for (Sequence sequence : sequences) {
            chunks.add(sequence.nextChunk());
        }
        float[][] rows;
        try (NDManager step = parent.newSubManager()) {
            Weights combined = LoraBatch.combine(weights, chunks, step);
            NDArray logits = model.forward(combined, chunks, step, false); // (sequences, vocab)
            int vocab = Math.toIntExact(logits.getShape().get(1));
            float[] flat = logits.toFloatArray();
            rows = new float[sequences.size()][];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
            }
        }
        List<StepOutput> outputs = new ArrayList<>(sequences.size());
        for (int i = 0; i < rows.length; i++) {
            outputs.add(sequences.get(i).accept(rows[i]));
        }
        return outputs;
    }
}
