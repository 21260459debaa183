package dev.realign.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.checkpoint.CheckpointException;
import dev.realign.checkpoint.Checkpoints;
import dev.realign.checkpoint.TensorInfo;
import dev.realign.checkpoint.WeightSource;
import dev.realign.merge.Adapters.Tensors;
import dev.realign.model.ModelConfig;
import dev.realign.model.ModelConfigException;
import dev.realign.model.TensorLayout;
import dev.realign.model.Weights;
import java.lang.reflect.RecordComponent;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Objects;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A full fine-tuned checkpoint of the same base (a Hugging Face model folder) served as a delta against the
 * base. Loading checks that the architecture is the base's and every tensor has the base's shape, rejects
 * NaN/Inf, and finds the tensors that differ from the base: only those are {@link #targets()}, so a profile
 * that merges it copies only what the fine-tune changed. The checkpoint stays memory-mapped; each
 * {@link #delta} is computed on demand as {@code fine-tuned - base} in fp32 (BF16 widened in Java).
 *
 * <p>"Differs" is decided on the tensor as the base holds it: the fine-tuned values are rounded to the base's
 * in-memory type (F32, or F16 for a half-precision base) and compared bit for bit. The delta is against the
 * base as served, so at weight 1 a merge reproduces the fine-tuned values exactly (before rounding to the
 * served type).
 *
 * <p>Loading reads every tensor once (finite check, comparison, hash of the changed ones); for a 7B model
 * that is the time to read the checkpoint from disk.
 */
public final class FullDeltaAdapter implements DeltaSource {
    /** The only config fields a fine-tune may change: they do not change the weights' meaning. */
    private static final Set<String> FREE_FIELDS = Set.of("bosTokenId", "eosTokenIds");

    private final String name;
    private final WeightSource checkpoint;
    private final Weights base;
    private final SequencedMap<String, TensorInfo> changed;
    private final String contentHash;
    private final AtomicBoolean closed = new AtomicBoolean();

    private FullDeltaAdapter(String name, WeightSource checkpoint, Weights base, SequencedMap<String, TensorInfo> changed,
            String contentHash) {
        this.name = name;
        this.checkpoint = checkpoint;
        this.base = base;
        this.changed = Collections.unmodifiableSequencedMap(changed);
        this.contentHash = contentHash;
    }

    /**
     * Opens the fine-tuned model folder {@code dir} (config.json and safetensors) against the base.
     *
     * @param parent used only for scratch arrays during loading; a full delta holds no arrays of its own
     */
    public static FullDeltaAdapter load(String name, Path dir, ModelConfig base, Weights baseWeights, NDManager parent) {
        Objects.requireNonNull(name, "name");
        ModelConfig tuned = ModelConfig.load(dir);
        requireSameArchitecture(dir.resolve("config.json"), base, tuned);
        WeightSource checkpoint = Checkpoints.openFolder(dir);
        try {
            SequencedMap<String, long[]> layout = TensorLayout.expected(base);
            for (String tensor : checkpoint.names()) {
                if (!layout.containsKey(tensor)) {
                    throw CheckpointException.inTensor(checkpoint.path(), tensor, "is not a tensor of the base's "
                            + base.modelType() + " layout; the engine would ignore it, so a fine-tune that changed it"
                            + " cannot be served faithfully");
                }
            }
            MessageDigest digest = Tensors.sha256();
            Tensors.update(digest, "realign full delta v1");
            SequencedMap<String, TensorInfo> changed = new LinkedHashMap<>();
            try (NDManager scratch = parent.newSubManager()) {
                for (var entry : layout.entrySet()) {
                    String tensor = entry.getKey();
                    if (!checkpoint.contains(tensor)) {
                        throw CheckpointException.inTensor(checkpoint.path(), tensor, "missing (the base has it)");
                    }
                    TensorInfo info = checkpoint.info(tensor);
                    if (!Arrays.equals(info.shape(), entry.getValue())) {
                        throw CheckpointException.inTensor(checkpoint.path(), tensor, "shape "
                                + Arrays.toString(info.shape()) + " differs from the base's "
                                + Arrays.toString(entry.getValue()));
                    }
                    ByteBuffer bytes = checkpoint.data(tensor);
                    Tensors.requireFiniteFloating(checkpoint.path(), info, bytes);
                    if (!Tensors.sameAsServed(info, bytes, baseWeights.tensor(tensor), scratch)) {
                        changed.put(tensor, info);
                        Tensors.update(digest, "tensor", tensor, info.dtype(), info.shape(), bytes);
                    }
                }
            }
            return new FullDeltaAdapter(name, checkpoint, baseWeights, changed, HexFormat.of().formatHex(digest.digest()));
        } catch (RuntimeException | Error e) {
            checkpoint.close();
            throw e;
        }
    }

    /**
     * The fine-tune's config.json must describe the base's architecture: every {@link ModelConfig} field equal
     * except the BOS/EOS token ids. The error names the first field that differs, with both values.
     */
    static void requireSameArchitecture(Path file, ModelConfig base, ModelConfig tuned) {
        for (RecordComponent component : ModelConfig.class.getRecordComponents()) {
            if (FREE_FIELDS.contains(component.getName())) {
                continue;
            }
            Object ours;
            Object theirs;
            try {
                ours = component.getAccessor().invoke(base);
                theirs = component.getAccessor().invoke(tuned);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read ModelConfig." + component.getName(), e);
            }
            if (!Objects.equals(ours, theirs)) {
                throw new ModelConfigException(file + ": " + component.getName() + " is " + theirs
                        + " but the base's is " + ours + " (a full fine-tune must keep the base's architecture)");
            }
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public AdapterKind kind() {
        return AdapterKind.FULL_DELTA;
    }

    @Override
    public String contentHash() {
        return contentHash;
    }

    @Override
    public Set<String> targets() {
        return changed.sequencedKeySet();
    }

    @Override
    public NDArray delta(String target, NDManager manager) {
        TensorInfo info = changed.get(target);
        if (info == null) {
            throw new IllegalArgumentException("full delta '" + name + "' does not change tensor '" + target + "'");
        }
        ensureOpen();
        return Tensors.minusBase(checkpoint, info, base.tensor(target), manager);
    }

    @Override
    public Optional<LoraFactors> lora(String target) {
        return Optional.empty();
    }

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public long sizeBytes() {
        return 0; // only the memory map, which is page cache
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            checkpoint.close();
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("full delta '" + name + "' is closed");
        }
    }

    @Override
    public String toString() {
        return "FullDeltaAdapter[" + name + ", " + changed.size() + " changed tensors, " + checkpoint.path() + "]";
    }
}
