package dev.realign.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Tiny random Llama-family models for parity tests: a Hugging Face config.json tree per family and
 * seeded random weights in Hugging Face layout. Sizes are small enough that the double-precision
 * reference runs in milliseconds, and the features of each family are set so that they matter at the
 * positions the tests use (the rope scaling changes frequencies, the sliding window masks keys).
 */
final class TinyModels {
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param name    display name
     * @param json    the config.json tree
     * @param config  {@code json} parsed by {@link ModelConfig#parse}
     * @param weights Hugging Face tensors, row-major
     * @param check   independent assertions on how {@code json} must have been parsed
     */
    record Variant(String name, ObjectNode json, ModelConfig config, Map<String, float[]> weights, long seed,
                   Consumer<ModelConfig> check) {
        ReferenceLlama reference() {
            return new ReferenceLlama(config, weights);
        }

        /** Engine tensors created in {@code manager}, which owns (and closes) them. */
        Weights engineWeights(NDManager manager) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (var e : ReferenceLlama.shapes(config).entrySet()) {
                long[] shape = new long[e.getValue().length];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = e.getValue()[i];
                }
                tensors.put(e.getKey(), manager.create(weights.get(e.getKey()), new Shape(shape)));
            }
            return new Weights(config, tensors);
        }

        /** Seeded random tokens in [0, vocab). */
        int[] tokens(int count, long salt) {
            var random = new SplittableRandom(seed * 31 + salt);
            int[] t = new int[count];
            for (int i = 0; i < count; i++) {
                t[i] = random.nextInt(config.vocabSize());
            }
            return t;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private TinyModels() {}

    static List<Variant> all() {
        return List.of(llama2(), llama3(), mistral(), qwen2(), qwen3(), llamaLinearBias());
    }

    /**
     * Llama 2: multi-head attention (kv heads = heads), plain RoPE. Its embeddings are tiny (std 0.005, so
     * mean(x^2) is about 2.5 eps at the first norm) so that rms_norm_eps visibly matters.
     */
    static Variant llama2() {
        ObjectNode j = base("llama", 64, 128, 2, 4, 4, 300, 1e-5, 10000);
        j.put("tie_word_embeddings", false);
        return variant("llama2-mha", j, 11, 0.005, c -> {
            check(c.rmsNormEps() == 1e-5, "rms_norm_eps");
            check(c.numKvHeads() == 4 && c.headDim() == 16, "MHA");
            check(c.ropeScaling().type() == RopeScaling.Type.NONE, "no rope scaling");
            check(!c.qkvBias() && !c.outputBias() && !c.qkNorm() && c.slidingWindow() == 0, "plain llama");
        });
    }

    /**
     * Llama 3: GQA and llama3 rope scaling with original_max_position_embeddings 64, so that with head_dim 16
     * and theta 50000 pair 0 keeps its frequency, pair 1 is interpolated and pairs 2..7 are divided by 8.
     */
    static Variant llama3() {
        ObjectNode j = base("llama", 64, 160, 3, 4, 2, 320, 1e-5, 50000);
        j.put("tie_word_embeddings", false);
        ObjectNode rs = j.putObject("rope_scaling");
        rs.put("rope_type", "llama3");
        rs.put("factor", 8.0);
        rs.put("low_freq_factor", 1.0);
        rs.put("high_freq_factor", 4.0);
        rs.put("original_max_position_embeddings", 64);
        j.put("max_position_embeddings", 256);
        return variant("llama3-gqa-rope-llama3", j, 12, 0.5, c -> {
            check(c.numKvHeads() == 2 && c.groupSize() == 2, "GQA");
            check(c.ropeScaling().type() == RopeScaling.Type.LLAMA3 && c.ropeScaling().factor() == 8
                    && c.ropeScaling().lowFreqFactor() == 1 && c.ropeScaling().highFreqFactor() == 4
                    && c.ropeScaling().originalMaxPositions() == 64, "llama3 rope scaling");
        });
    }

    /** Mistral: GQA and a sliding window of 7, far shorter than the sequences the tests run. */
    static Variant mistral() {
        ObjectNode j = base("mistral", 64, 144, 2, 4, 2, 310, 1e-5, 1_000_000);
        j.put("sliding_window", 7);
        j.put("tie_word_embeddings", false);
        return variant("mistral-gqa-window7", j, 13, 0.5, c -> {
            check(c.slidingWindow() == 7, "sliding window 7");
            check(!c.qkvBias() && !c.outputBias(), "mistral has no attention biases");
        });
    }

    /**
     * Qwen2: q/k/v biases (no o_proj bias), tied embeddings. Its sliding_window is ignored because
     * use_sliding_window is false, as in transformers and in real Qwen2 configs.
     */
    static Variant qwen2() {
        ObjectNode j = base("qwen2", 64, 128, 2, 4, 2, 300, 1e-6, 1_000_000);
        j.put("tie_word_embeddings", true);
        j.put("use_sliding_window", false);
        j.put("sliding_window", 5);
        return variant("qwen2-bias-tied", j, 14, 0.05, c -> {
            check(c.qkvBias() && !c.outputBias(), "qwen2 q/k/v bias only");
            check(c.tieWordEmbeddings(), "tied");
            check(c.slidingWindow() == 0, "use_sliding_window=false disables the window");
        });
    }

    /** Qwen3: per-head q/k RMSNorm, head_dim 24 != hidden / heads (16), tied embeddings. */
    static Variant qwen3() {
        ObjectNode j = base("qwen3", 64, 128, 2, 4, 2, 300, 1e-6, 1_000_000);
        j.put("head_dim", 24);
        j.put("tie_word_embeddings", true);
        j.put("attention_bias", false);
        return variant("qwen3-qknorm-hd24-tied", j, 15, 0.1, c -> {
            check(c.qkNorm() && c.headDim() == 24, "qk norm, head_dim 24");
            check(!c.qkvBias() && !c.outputBias(), "no biases");
            check(c.tieWordEmbeddings(), "tied");
        });
    }

    /** Llama with attention_bias (q/k/v and o_proj biases) and linear rope scaling. */
    static Variant llamaLinearBias() {
        ObjectNode j = base("llama", 64, 96, 2, 4, 2, 290, 1e-5, 10000);
        j.put("tie_word_embeddings", false);
        j.put("attention_bias", true);
        ObjectNode rs = j.putObject("rope_scaling");
        rs.put("type", "linear");
        rs.put("factor", 4.0);
        return variant("llama-attnbias-rope-linear", j, 16, 0.5, c -> {
            check(c.qkvBias() && c.outputBias(), "attention_bias: q/k/v and o biases");
            check(c.ropeScaling().type() == RopeScaling.Type.LINEAR && c.ropeScaling().factor() == 4, "linear");
        });
    }

    static ObjectNode base(String type, int hidden, int inter, int layers, int heads, int kvHeads, int vocab,
                           double eps, double theta) {
        ObjectNode j = JSON.createObjectNode();
        j.put("model_type", type);
        j.putArray("architectures").add(switch (type) {
            case "llama" -> "LlamaForCausalLM";
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            default -> "Qwen3ForCausalLM";
        });
        j.put("hidden_size", hidden);
        j.put("intermediate_size", inter);
        j.put("num_hidden_layers", layers);
        j.put("num_attention_heads", heads);
        j.put("num_key_value_heads", kvHeads);
        j.put("vocab_size", vocab);
        j.put("max_position_embeddings", 128);
        j.put("rms_norm_eps", eps);
        j.put("rope_theta", theta);
        j.put("hidden_act", "silu");
        j.put("bos_token_id", 1);
        j.put("eos_token_id", 2);
        return j;
    }

    private static Variant variant(String name, ObjectNode json, long seed, double embedStd,
                                   Consumer<ModelConfig> check) {
        ModelConfig config = ModelConfig.parse(json, name + "/config.json");
        return new Variant(name, json, config, randomWeights(config, seed, embedStd), seed, check);
    }

    /**
     * Seeded weights: embeddings N(0, embedStd), matrices N(0, 0.08), norm weights 1 + N(0, 0.1), biases
     * N(0, 0.1). With these the attention, the MLP and the residual all contribute visibly to the logits.
     * Tied variants use small embeddings: with large ones the head (= the embedding) mostly predicts the
     * current token again and greedy continuations collapse into repeats.
     */
    static Map<String, float[]> randomWeights(ModelConfig config, long seed, double embedStd) {
        var random = new SplittableRandom(seed);
        Map<String, float[]> w = new LinkedHashMap<>();
        for (var e : ReferenceLlama.shapes(config).entrySet()) {
            String name = e.getKey();
            int[] shape = e.getValue();
            int size = shape.length == 1 ? shape[0] : shape[0] * shape[1];
            float[] t = new float[size];
            for (int i = 0; i < size; i++) {
                double g = random.nextGaussian();
                t[i] = (float) (name.contains("norm") ? 1 + 0.1 * g
                        : name.endsWith(".bias") ? 0.1 * g
                        : name.contains("embed_tokens") ? embedStd * g
                        : 0.08 * g);
            }
            w.put(name, t);
        }
        return w;
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("config parsed wrongly: " + what);
        }
    }
}
