package dev.realign.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Optional;
import java.util.Set;

/**
 * A fine-tune of a base model as per-tensor deltas, keyed by the HF tensor names of the BASE (for example
 * {@code model.layers.0.self_attn.q_proj.weight}). Merge methods see only {@link #delta}; for LoRA that is
 * {@code scale * B @ A}, never A and B separately (DESIGN §5).
 *
 * <p>Implementations are safe for concurrent readers. Arrays returned by {@link #delta} belong to the caller's
 * manager; arrays inside {@link LoraFactors} belong to the source and die on {@link #close()}.
 */
public interface DeltaSource extends AutoCloseable {
    /** The name it was registered under. */
    String name();

    AdapterKind kind();

    /**
     * Hex SHA-256 over the adapter's canonical content (the config fields that change a delta, and the tensor
     * bytes, target by target in name order): stable across reloads of the same files, different for any
     * changed tensor.
     */
    String contentHash();

    /** Base tensors it changes, in the base checkpoint's order. */
    Set<String> targets();

    /**
     * delta = fine-tuned - base for one target, fp32, same shape as the base tensor, allocated in
     * {@code manager}; an {@link IllegalArgumentException} for a name outside {@link #targets()}.
     */
    NDArray delta(String target, NDManager manager);

    /**
     * For LoRA targets: the factors, so the server can apply the adapter unmerged:
     * {@code y += scale * (x A^T) B^T}. Empty for full deltas and for modules_to_save replacements.
     */
    Optional<LoraFactors> lora(String target);

    /** The largest LoRA rank (0 for full deltas and for an adapter of replacements only). */
    int rank();

    /**
     * Native bytes it holds resident (LoRA factors). Memory-mapped checkpoint data is page cache that the
     * kernel can drop, so it is not counted.
     */
    long sizeBytes();

    @Override
    void close();
}
