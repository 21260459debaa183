package dev.realign.model.synthetic;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.realign.checkpoint.DType;
import dev.realign.checkpoint.FloatConversions;
import dev.realign.checkpoint.SafetensorsStreamWriter;
import dev.realign.checkpoint.SafetensorsStreamWriter.Entry;
import dev.realign.checkpoint.SafetensorsStreamWriter.TensorStream;
import dev.realign.tokenize.ByteLevelBpeTrainer;
import dev.realign.tokenize.TrainedTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Writes random models in Hugging Face layout (config.json, generation_config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json) so that tests and benchmarks have real checkpoints without a
 * download. Same spec, same bytes: every tensor's values come from a generator seeded by the spec's seed
 * and the tensor's name, and all JSON is written with a fixed key order.
 *
 * <p>Initialization is chosen so the models exercise the engine rather than average everything away:
 * projections are normal with standard deviation {@code gain / sqrt(fan_in)}, so activations stay near unit
 * scale at any size; queries and keys get a gain of 1.5 so attention scores have a spread of about 2 and
 * attention is far from uniform (RoPE and windows matter); embeddings and lm_head get {@code 2 / sqrt(hidden)}
 * so logits have a spread of about 2 (sampling is neither uniform nor one-hot); norm weights are
 * 1 + N(0, 0.1) so a forward pass that drops them is visibly wrong.
 *
 * <p>The tokenizer is a byte-level BPE of {@link #TOKENIZER_BPE_VOCAB} tokens plus the three ChatML special
 * tokens, trained on {@link SyntheticCorpus}; it is the same for every spec. Embedding rows past the
 * tokenizer's vocabulary (padding, as in Qwen checkpoints) are random like the others, so a random model
 * can generate ids the tokenizer has no text for.
 */
public final class SyntheticModels {
    /** BPE tokens of the synthetic tokenizer (256 bytes + merges); the special tokens come after. */
    public static final int TOKENIZER_BPE_VOCAB = 400;
    /** The tiny shape's embedding rows: the tokenizer's 403 ids padded to a multiple of 16. */
    public static final int TINY_VOCAB_SIZE = 416;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SyntheticModels() {}

    /** The tokenizer every synthetic model ships, trained once per JVM. */
    public static TrainedTokenizer tokenizer() {
        return TokenizerHolder.TOKENIZER;
    }

    private static final class TokenizerHolder {
        static final TrainedTokenizer TOKENIZER = ByteLevelBpeTrainer.train(SyntheticCorpus.lines(), TOKENIZER_BPE_VOCAB);
    }

    /**
     * Writes the model of {@code spec} into {@code dir} (created if missing; existing files of the same names
     * are replaced) and returns {@code dir}. Tensors are generated and written one chunk at a time, so the
     * benchmark shape needs no more heap than a small model.
     */
    public static Path write(SyntheticModelSpec spec, Path dir) {
        writeDescription(spec, tokenizer(), dir);
        SafetensorsStreamWriter.write(dir.resolve("model.safetensors"), layout(spec), Map.of("format", "pt"),
                entry -> stream(spec, entry));
        return dir;
    }

    /**
     * Writes everything of a model folder but its weights: config.json, generation_config.json and the
     * tokenizer files (with the ChatML template) for {@code spec} and {@code tokenizer}. Trained models (the
     * demo family) use this and then write their own model.safetensors.
     */
    public static Path writeDescription(SyntheticModelSpec spec, TrainedTokenizer tokenizer, Path dir) {
        if (spec.vocabSize() < tokenizer.vocabSize()) {
            throw new IllegalArgumentException("vocabSize " + spec.vocabSize() + " is smaller than the tokenizer's "
                    + tokenizer.vocabSize() + " ids");
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), toJson(config(spec, tokenizer)), StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("generation_config.json"), toJson(generationConfig(tokenizer)),
                    StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write model files to " + dir, e);
        }
        tokenizer.writeTo(dir, spec.maxPositions());
        return dir;
    }

    /** The checkpoint's tensors in file order, with Hugging Face names and (out, in) weight shapes. */
    public static List<Entry> layout(SyntheticModelSpec spec) {
        Architecture arch = spec.arch();
        DType dtype = spec.dtype();
        long hidden = spec.hidden();
        long q = (long) spec.heads() * spec.effectiveHeadDim();
        long kv = (long) spec.kvHeads() * spec.effectiveHeadDim();
        long inter = spec.intermediate();
        List<Entry> entries = new ArrayList<>();
        entries.add(new Entry("model.embed_tokens.weight", dtype, new long[] {spec.vocabSize(), hidden}));
        for (int layer = 0; layer < spec.layers(); layer++) {
            String p = "model.layers." + layer + ".";
            entries.add(new Entry(p + "input_layernorm.weight", dtype, new long[] {hidden}));
            entries.add(new Entry(p + "self_attn.q_proj.weight", dtype, new long[] {q, hidden}));
            entries.add(new Entry(p + "self_attn.k_proj.weight", dtype, new long[] {kv, hidden}));
            entries.add(new Entry(p + "self_attn.v_proj.weight", dtype, new long[] {kv, hidden}));
            if (arch.qkvBias()) {
                entries.add(new Entry(p + "self_attn.q_proj.bias", dtype, new long[] {q}));
                entries.add(new Entry(p + "self_attn.k_proj.bias", dtype, new long[] {kv}));
                entries.add(new Entry(p + "self_attn.v_proj.bias", dtype, new long[] {kv}));
            }
            if (arch.qkNorm()) {
                entries.add(new Entry(p + "self_attn.q_norm.weight", dtype, new long[] {spec.effectiveHeadDim()}));
                entries.add(new Entry(p + "self_attn.k_norm.weight", dtype, new long[] {spec.effectiveHeadDim()}));
            }
            entries.add(new Entry(p + "self_attn.o_proj.weight", dtype, new long[] {hidden, q}));
            entries.add(new Entry(p + "post_attention_layernorm.weight", dtype, new long[] {hidden}));
            entries.add(new Entry(p + "mlp.gate_proj.weight", dtype, new long[] {inter, hidden}));
            entries.add(new Entry(p + "mlp.up_proj.weight", dtype, new long[] {inter, hidden}));
            entries.add(new Entry(p + "mlp.down_proj.weight", dtype, new long[] {hidden, inter}));
        }
        entries.add(new Entry("model.norm.weight", dtype, new long[] {hidden}));
        if (!arch.tiedEmbeddings()) {
            entries.add(new Entry("lm_head.weight", dtype, new long[] {spec.vocabSize(), hidden}));
        }
        return entries;
    }

    /** Mean and standard deviation of one tensor's values (see the class comment for why these). */
    record Init(double mean, double std) {}

    static Init init(SyntheticModelSpec spec, String name) {
        double hidden = spec.hidden();
        if (name.endsWith("norm.weight")) {
            return new Init(1.0, 0.1);
        }
        if (name.endsWith(".bias")) {
            return new Init(0.0, 0.5);
        }
        if (name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight")) {
            return new Init(0.0, 2.0 / Math.sqrt(hidden));
        }
        if (name.endsWith("q_proj.weight") || name.endsWith("k_proj.weight")) {
            return new Init(0.0, 1.5 / Math.sqrt(hidden));
        }
        if (name.endsWith("o_proj.weight")) {
            return new Init(0.0, 1.0 / Math.sqrt((double) spec.heads() * spec.effectiveHeadDim()));
        }
        if (name.endsWith("down_proj.weight")) {
            return new Init(0.0, 1.0 / Math.sqrt(spec.intermediate()));
        }
        if (name.endsWith("v_proj.weight") || name.endsWith("gate_proj.weight") || name.endsWith("up_proj.weight")) {
            return new Init(0.0, 1.0 / Math.sqrt(hidden));
        }
        throw new IllegalArgumentException("no initialization rule for tensor '" + name + "'");
    }

    /** A generator of one tensor's values, seeded by the spec's seed and the tensor's name only. */
    static TensorStream stream(SyntheticModelSpec spec, Entry entry) {
        Init init = init(spec, entry.name());
        SplittableRandom random = new SplittableRandom(tensorSeed(spec.seed(), entry.name()));
        return switch (entry.dtype()) {
            case F32 -> chunk -> {
                FloatBuffer out = chunk.slice().order(chunk.order()).asFloatBuffer();
                while (out.hasRemaining()) {
                    out.put(sample(random, init));
                }
                chunk.position(chunk.limit());
            };
            case F16 -> chunk -> {
                ShortBuffer out = chunk.slice().order(chunk.order()).asShortBuffer();
                while (out.hasRemaining()) {
                    out.put(Float.floatToFloat16(sample(random, init)));
                }
                chunk.position(chunk.limit());
            };
            case BF16 -> chunk -> {
                ShortBuffer out = chunk.slice().order(chunk.order()).asShortBuffer();
                while (out.hasRemaining()) {
                    out.put(FloatConversions.floatToBf16(sample(random, init)));
                }
                chunk.position(chunk.limit());
            };
            default -> throw new IllegalArgumentException("unsupported dtype " + entry.dtype());
        };
    }

    private static float sample(SplittableRandom random, Init init) {
        return (float) (init.mean() + init.std() * random.nextGaussian());
    }

    /** FNV-1a over the name's UTF-8, mixed with the seed: stable across JVMs, unlike identity hashes. */
    static long tensorSeed(long seed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return mix64(seed ^ mix64(h));
    }

    /** Stafford's variant 13 of the SplitMix64 finalizer: spreads nearby seeds far apart. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    static SequencedMap<String, Object> config(SyntheticModelSpec spec, TrainedTokenizer tokenizer) {
        Architecture arch = spec.arch();
        // Sorted keys, as transformers writes them.
        Map<String, Object> c = new TreeMap<>();
        c.put("architectures", List.of(arch.architectureClass()));
        c.put("model_type", arch.modelType());
        c.put("hidden_size", spec.hidden());
        c.put("intermediate_size", spec.intermediate());
        c.put("num_hidden_layers", spec.layers());
        c.put("num_attention_heads", spec.heads());
        c.put("num_key_value_heads", spec.kvHeads());
        if (spec.headDim() != null || arch.explicitHeadDim()) {
            c.put("head_dim", spec.effectiveHeadDim());
        }
        c.put("max_position_embeddings", spec.maxPositions());
        c.put("rms_norm_eps", arch.rmsNormEps());
        c.put("rope_theta", arch.ropeTheta());
        c.put("rope_scaling", arch == Architecture.LLAMA3 ? llama3RopeScaling(spec) : null);
        c.put("tie_word_embeddings", arch.tiedEmbeddings());
        c.put("vocab_size", spec.vocabSize());
        c.put("bos_token_id", tokenizer.bosTokenId());
        c.put("eos_token_id", tokenizer.eosTokenId());
        c.put("torch_dtype", torchDtype(spec.dtype()));
        c.put("hidden_act", "silu");
        c.put("attention_bias", arch.qkvBias());
        c.put("attention_dropout", 0.0);
        c.put("initializer_range", 0.02);
        c.put("use_cache", true);
        switch (arch) {
            case LLAMA2, LLAMA3 -> {
                c.put("mlp_bias", false);
                c.put("pretraining_tp", 1);
            }
            case MISTRAL -> c.put("sliding_window", SyntheticModelSpec.MISTRAL_SLIDING_WINDOW);
            case QWEN2 -> {
                c.put("use_sliding_window", false);
                c.put("sliding_window", spec.maxPositions());
                c.put("max_window_layers", spec.layers());
            }
            case QWEN3 -> {
                c.put("use_sliding_window", false);
                c.put("sliding_window", null);
                c.put("max_window_layers", spec.layers());
            }
        }
        return new LinkedHashMap<>(c);
    }

    private static Map<String, Object> llama3RopeScaling(SyntheticModelSpec spec) {
        SequencedMap<String, Object> s = new LinkedHashMap<>();
        s.put("factor", 8.0);
        s.put("high_freq_factor", 4.0);
        s.put("low_freq_factor", 1.0);
        s.put("original_max_position_embeddings", spec.ropeScalingOriginalMaxPositions());
        s.put("rope_type", "llama3");
        return s;
    }

    /** Generation stops on {@code <|endoftext|>} and, for chat, on {@code <|im_end|>} (as Qwen's instruct models). */
    static SequencedMap<String, Object> generationConfig(TrainedTokenizer tokenizer) {
        SequencedMap<String, Object> g = new LinkedHashMap<>();
        g.put("bos_token_id", tokenizer.bosTokenId());
        g.put("eos_token_id", List.of(tokenizer.eosTokenId(), tokenizer.imEndId()));
        g.put("pad_token_id", tokenizer.endOfTextId());
        g.put("do_sample", false);
        return g;
    }

    private static String torchDtype(DType dtype) {
        return switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> throw new IllegalArgumentException("unsupported dtype " + dtype);
        };
    }

    private static String toJson(Object value) {
        try {
            return JSON.writeValueAsString(value) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
