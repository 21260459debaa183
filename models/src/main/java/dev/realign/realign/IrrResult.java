package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.merge.FullDeltaAdapter;
import dev.realign.merge.ModelWriter;
import dev.realign.model.Weights;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The outcome of an IRR run: the realigned fine-tune as a full delta per tensor (W' - W_a; tensors IRR does not
 * treat, such as norms a full fine-tune changed, pass through unchanged) and what was done to each matrix.
 * Owns the delta arrays; close it when they are no longer needed.
 */
public final class IrrResult implements AutoCloseable {
    private final NDManager manager;
    private final SequencedMap<String, NDArray> delta;
    private final SequencedMap<String, IrrTensorStats> stats;

    IrrResult(NDManager manager, SequencedMap<String, NDArray> delta, SequencedMap<String, IrrTensorStats> stats) {
        this.manager = manager;
        this.delta = Collections.unmodifiableSequencedMap(delta);
        this.stats = Collections.unmodifiableSequencedMap(stats);
    }

    /** W' - W_a per tensor, fp32 (out, in) for matrices; owned by this result. */
    public SequencedMap<String, NDArray> delta() {
        return delta;
    }

    /** Per realigned matrix, in layer order. */
    public SequencedMap<String, IrrTensorStats> stats() {
        return stats;
    }

    public long removed() {
        return stats.values().stream().mapToLong(IrrTensorStats::removed).sum();
    }

    public long conflicting() {
        return stats.values().stream().mapToLong(IrrTensorStats::conflicting).sum();
    }

    /**
     * Writes the realigned model W' = W_a + delta as a Hugging Face folder (the aligned folder's config and
     * tokenizer files, a model.safetensors of every tensor): the form {@link FullDeltaAdapter#load} reads back as a
     * full-delta adapter against the aligned base, so the result is served like any other fine-tune.
     *
     * @param aligned       the weights the deltas were computed against
     * @param alignedFolder the aligned model's folder, for its config and tokenizer files
     * @param metadata      safetensors header metadata (e.g. the run's parameters)
     */
    public Path writeModel(Weights aligned, Path alignedFolder, Path out, Map<String, String> metadata) {
        try (NDManager scratch = manager.newSubManager()) {
            return ModelWriter.write(aligned.withDeltas(delta, scratch), alignedFolder, out, metadata);
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
