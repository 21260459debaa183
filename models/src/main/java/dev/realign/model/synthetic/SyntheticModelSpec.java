package dev.realign.model.synthetic;

import dev.realign.checkpoint.DType;
import java.util.Objects;

/**
 * The shape of a random model for {@link SyntheticModels}.
 *
 * @param arch         the variant (config conventions and tensor set)
 * @param hidden       hidden size
 * @param layers       number of decoder layers
 * @param heads        attention (query) heads
 * @param kvHeads      key/value heads; equal to {@code heads} for {@link Architecture#LLAMA2}
 * @param headDim      per-head size, or null for {@code hidden / heads}
 * @param intermediate MLP size
 * @param vocabSize    embedding rows; at least the tokenizer's vocabulary, more means padded rows
 * @param maxPositions {@code max_position_embeddings}
 * @param dtype        F32, F16 or BF16 (the same random values, rounded)
 * @param seed         every tensor's values follow from this and the tensor's name
 */
public record SyntheticModelSpec(Architecture arch, int hidden, int layers, int heads, int kvHeads, Integer headDim,
        int intermediate, int vocabSize, int maxPositions, DType dtype, long seed) {

    /** Mistral's attention window in the models written here: small, so that tests reach past it. */
    public static final int MISTRAL_SLIDING_WINDOW = 16;

    public SyntheticModelSpec {
        Objects.requireNonNull(arch, "arch");
        Objects.requireNonNull(dtype, "dtype");
        positive("hidden", hidden);
        positive("layers", layers);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        positive("intermediate", intermediate);
        positive("vocabSize", vocabSize);
        positive("maxPositions", maxPositions);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads (" + heads + ") must be a multiple of kvHeads (" + kvHeads + ")");
        }
        if (arch == Architecture.LLAMA2 && kvHeads != heads) {
            throw new IllegalArgumentException("LLAMA2 uses multi-head attention: kvHeads must equal heads (" + heads + ")");
        }
        if (headDim == null && hidden % heads != 0) {
            throw new IllegalArgumentException("hidden (" + hidden + ") must be a multiple of heads (" + heads
                    + ") unless headDim is given");
        }
        int effectiveHeadDim = headDim != null ? headDim : hidden / heads;
        if (effectiveHeadDim <= 0 || effectiveHeadDim % 2 != 0) {
            throw new IllegalArgumentException("head dimension must be positive and even for RoPE, got " + effectiveHeadDim);
        }
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("dtype must be F32, F16 or BF16, got " + dtype);
        }
        if (arch == Architecture.LLAMA3 && maxPositions < 8) {
            throw new IllegalArgumentException("LLAMA3 needs maxPositions >= 8 (rope scaling factor 8), got " + maxPositions);
        }
    }

    /**
     * The default test model: hidden 64, 2 layers, 4 heads and 2 key/value heads (4 for LLAMA2),
     * intermediate 128, head_dim 32 for QWEN3 (not hidden/heads = 16, which is the point of the field),
     * {@link SyntheticModels#TINY_VOCAB_SIZE} embedding rows (a few padded), 512 positions, F32.
     */
    public static SyntheticModelSpec tiny(Architecture arch, long seed) {
        int kvHeads = arch == Architecture.LLAMA2 ? 4 : 2;
        Integer headDim = arch == Architecture.QWEN3 ? 32 : null;
        return new SyntheticModelSpec(arch, 64, 2, 4, kvHeads, headDim, 128, SyntheticModels.TINY_VOCAB_SIZE, 512,
                DType.F32, seed);
    }

    /**
     * The shape the engine's speed is measured on (DESIGN §7): a 415M-parameter Llama, hidden 896, 24 layers,
     * 14 heads, 2 key/value heads, intermediate 4864, vocabulary 32000, 2048 positions, F32 (about 1.7 GB).
     */
    public static SyntheticModelSpec benchmarkShape() {
        return new SyntheticModelSpec(Architecture.LLAMA3, 896, 24, 14, 2, null, 4864, 32_000, 2048, DType.F32, 0);
    }

    public SyntheticModelSpec withDtype(DType newDtype) {
        return new SyntheticModelSpec(arch, hidden, layers, heads, kvHeads, headDim, intermediate, vocabSize,
                maxPositions, newDtype, seed);
    }

    public SyntheticModelSpec withSeed(long newSeed) {
        return new SyntheticModelSpec(arch, hidden, layers, heads, kvHeads, headDim, intermediate, vocabSize,
                maxPositions, dtype, newSeed);
    }

    /** {@code headDim}, or {@code hidden / heads} when not given. */
    public int effectiveHeadDim() {
        return headDim != null ? headDim : hidden / heads;
    }

    /**
     * llama3 rope scaling's {@code original_max_position_embeddings}: an eighth of the positions (factor 8,
     * as in Llama 3.1). For the tiny shape that is 64, where head_dim 16 puts one frequency below the high
     * band, one in the smoothly interpolated band and the rest in the scaled band, so all three rules are used.
     */
    public int ropeScalingOriginalMaxPositions() {
        return maxPositions / 8;
    }

    /** Number of parameters in the checkpoint (tied embeddings counted once). */
    public long parameterCount() {
        long hd = effectiveHeadDim();
        long q = (long) heads * hd;
        long kv = (long) kvHeads * hd;
        long perLayer = 2L * hidden                       // input_layernorm, post_attention_layernorm
                + q * hidden + 2 * kv * hidden + hidden * q // q, k, v, o
                + 3L * intermediate * hidden;             // gate, up, down
        if (arch.qkvBias()) {
            perLayer += q + 2 * kv;
        }
        if (arch.qkNorm()) {
            perLayer += 2 * hd;
        }
        long embeddings = (long) vocabSize * hidden * (arch.tiedEmbeddings() ? 1 : 2);
        return embeddings + layers * perLayer + hidden;
    }

    private static void positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, got " + value);
        }
    }
}
