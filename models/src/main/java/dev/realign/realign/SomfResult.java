package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.merge.FullDeltaAdapter;
import dev.realign.merge.ModelWriter;
import dev.realign.model.Weights;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The outcome of a SOMF run: the binary serving mask, its density, the DPO loss of every step, and the fused
 * model as a full delta per tensor, lambda * sum_i tau_i * m_bin / mean(m_bin) (the serving form: the binary
 * mask rescaled per tensor exactly as the relaxed one was during training). Owns its arrays; close it.
 */
public final class SomfResult implements AutoCloseable {
    private final NDManager manager;
    private final SequencedMap<String, NDArray> mask;
    private final SequencedMap<String, NDArray> delta;
    private final List<Double> lossHistory;
    private final double density;

    SomfResult(NDManager manager, SequencedMap<String, NDArray> mask, SequencedMap<String, NDArray> delta,
               List<Double> lossHistory, double density) {
        this.manager = manager;
        this.mask = Collections.unmodifiableSequencedMap(mask);
        this.delta = Collections.unmodifiableSequencedMap(delta);
        this.lossHistory = List.copyOf(lossHistory);
        this.density = density;
    }

    /** Per masked tensor, fp32 0/1 shaped like the tensor. */
    public SequencedMap<String, NDArray> mask() {
        return mask;
    }

    /** Fraction of ones over every entry of every masked tensor. */
    public double density() {
        return density;
    }

    /** The DPO loss of each optimizer step (relaxed mask), in order. */
    public List<Double> lossHistory() {
        return lossHistory;
    }

    /** phi_fused - phi_safe per masked tensor, fp32. */
    public SequencedMap<String, NDArray> delta() {
        return delta;
    }

    /**
     * Writes phi_safe + delta as a Hugging Face folder, the form {@link FullDeltaAdapter#load} reads back as a
     * full-delta adapter against the safe model (as {@link IrrResult#writeModel}).
     */
    public Path writeModel(Weights safe, Path safeFolder, Path out, Map<String, String> metadata) {
        try (NDManager scratch = manager.newSubManager()) {
            return ModelWriter.write(safe.withDeltas(delta, scratch), safeFolder, out, metadata);
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
