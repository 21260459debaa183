package dev.realign.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The architecture of one Llama-family model, read from Hugging Face's {@code config.json}. One forward
 * function serves every family here; these fields are the only differences between them.
 *
 * @param modelType       {@code llama}, {@code mistral}, {@code qwen2} or {@code qwen3}
 * @param headDim         per-head width; Qwen3 sets it apart from hidden / heads
 * @param qkvBias         q/k/v projections have biases (Qwen2; Llama and Qwen3 with attention_bias)
 * @param outputBias      o_proj has a bias (Llama and Qwen3 with attention_bias)
 * @param qkNorm          RMSNorm over each q and k head before RoPE (Qwen3)
 * @param slidingWindow   keys older than this many positions are masked (Mistral); 0 = none
 * @param eosTokenIds     ids that end generation (config.json's; generation_config.json may add more)
 */
public record ModelConfig(
        String modelType,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        int maxPositions,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        boolean qkvBias,
        boolean outputBias,
        boolean qkNorm,
        int slidingWindow,
        OptionalInt bosTokenId,
        List<Integer> eosTokenIds) {

    public static final Set<String> SUPPORTED_MODEL_TYPES = Set.of("llama", "mistral", "qwen2", "qwen3");
    private static final ObjectMapper JSON = new ObjectMapper();

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** Query heads per key/value head (GQA group size). */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    public static ModelConfig load(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new ModelConfigException(file + ": missing (a model folder needs config.json)");
        } catch (IOException e) {
            throw new ModelConfigException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelConfigException(file + ": expected a JSON object");
        }
        return parse(root, file.toString());
    }

    /** Parses a config.json tree; {@code source} names the file in errors. */
    public static ModelConfig parse(JsonNode root, String source) {
        var fields = new JsonFields(root, source);
        String modelType = fields.requiredString("model_type");
        if (!SUPPORTED_MODEL_TYPES.contains(modelType)) {
            throw new ModelConfigException(source + ": model_type '" + modelType + "' is not supported (supported: "
                    + String.join(", ", SUPPORTED_MODEL_TYPES.stream().sorted().toList()) + ")");
        }
        String act = fields.optionalString("hidden_act").orElse("silu");
        if (!act.equals("silu")) {
            throw new ModelConfigException(source + ": hidden_act '" + act + "' is not supported (only silu)");
        }
        if (fields.optionalBoolean("mlp_bias").orElse(false)) {
            throw new ModelConfigException(source + ": mlp_bias=true is not supported");
        }
        int hidden = fields.positiveInt("hidden_size");
        int heads = fields.positiveInt("num_attention_heads");
        int kvHeads = fields.optionalPositiveInt("num_key_value_heads").orElse(heads);
        if (heads % kvHeads != 0) {
            throw new ModelConfigException(source + ": num_attention_heads (" + heads
                    + ") must be a multiple of num_key_value_heads (" + kvHeads + ")");
        }
        int headDim = fields.optionalPositiveInt("head_dim").orElse(0);
        if (headDim == 0) {
            if (hidden % heads != 0) {
                throw new ModelConfigException(source + ": hidden_size (" + hidden
                        + ") is not a multiple of num_attention_heads (" + heads + ") and head_dim is not set");
            }
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0) {
            throw new ModelConfigException(source + ": head_dim " + headDim + " must be even for rotary embeddings");
        }
        // Hugging Face: Qwen2 always has q/k/v biases and never an o_proj bias, whatever attention_bias says;
        // Mistral has no biases; Llama and Qwen3 put one on all four projections when attention_bias is set.
        boolean attentionBias = !modelType.equals("mistral") && !modelType.equals("qwen2")
                && fields.optionalBoolean("attention_bias").orElse(false);
        boolean qwen2 = modelType.equals("qwen2");
        boolean qwen3 = modelType.equals("qwen3");
        int slidingWindow = slidingWindow(fields, modelType, source);
        int maxPositions = fields.positiveInt("max_position_embeddings");
        // transformers >= 5 writes rope_theta and the scaling together as rope_parameters and omits both
        // legacy top-level fields; reading only those would silently fall back to theta 10000 and no scaling.
        JsonNode ropeParameters = fields.node("rope_parameters");
        double ropeTheta;
        RopeScaling ropeScaling;
        if (ropeParameters != null && !ropeParameters.isNull()) {
            String where = source + ": rope_parameters";
            if (!ropeParameters.isObject()) {
                throw new ModelConfigException(where + " must be an object or null");
            }
            ropeTheta = new JsonFields(ropeParameters, where).positiveDouble("rope_theta");
            ropeScaling = ropeScaling(ropeParameters, where);
        } else {
            ropeTheta = fields.optionalPositiveDouble("rope_theta").orElse(10000.0);
            ropeScaling = ropeScaling(fields.node("rope_scaling"), source + ": rope_scaling");
        }
        return new ModelConfig(
                modelType,
                hidden,
                fields.positiveInt("intermediate_size"),
                fields.positiveInt("num_hidden_layers"),
                heads,
                kvHeads,
                headDim,
                fields.positiveInt("vocab_size"),
                maxPositions,
                fields.optionalPositiveDouble("rms_norm_eps").orElse(1e-6),
                ropeTheta,
                ropeScaling,
                fields.optionalBoolean("tie_word_embeddings").orElse(false),
                qwen2 || attentionBias,
                attentionBias,
                qwen3,
                slidingWindow,
                fields.optionalNonNegativeInt("bos_token_id"),
                tokenIds(root.get("eos_token_id"), source + ": eos_token_id"));
    }

    private static int slidingWindow(JsonFields fields, String modelType, String source) {
        return switch (modelType) {
            case "mistral" -> fields.optionalPositiveInt("sliding_window").orElse(0);
            case "qwen2", "qwen3" -> {
                if (fields.optionalBoolean("use_sliding_window").orElse(false)) {
                    throw new ModelConfigException(source + ": use_sliding_window=true is not supported for "
                            + modelType + " (per-layer windows)");
                }
                yield 0;
            }
            default -> 0;
        };
    }

    /** {@code where} names the object in errors: "file: rope_scaling" or "file: rope_parameters". */
    private static RopeScaling ropeScaling(JsonNode node, String where) {
        if (node == null || node.isNull()) {
            return RopeScaling.NONE;
        }
        if (!node.isObject()) {
            throw new ModelConfigException(where + " must be an object or null");
        }
        var scaling = new JsonFields(node, where);
        String type = scaling.optionalString("rope_type").or(() -> scaling.optionalString("type")).orElse("default");
        return switch (type) {
            case "default" -> RopeScaling.NONE;
            case "linear" -> new RopeScaling(RopeScaling.Type.LINEAR, scaling.positiveDouble("factor"), 0, 0, 0);
            case "llama3" -> {
                double low = scaling.positiveDouble("low_freq_factor");
                double high = scaling.positiveDouble("high_freq_factor");
                if (high <= low) {
                    throw new ModelConfigException(where + ".high_freq_factor (" + high
                            + ") must exceed low_freq_factor (" + low + ")");
                }
                yield new RopeScaling(RopeScaling.Type.LLAMA3, scaling.positiveDouble("factor"), low, high,
                        scaling.positiveInt("original_max_position_embeddings"));
            }
            default -> throw new ModelConfigException(where + " type '" + type
                    + "' is not supported (supported: default, linear, llama3)");
        };
    }

    static List<Integer> tokenIds(JsonNode node, String field) {
        List<Integer> ids = new ArrayList<>();
        if (node == null || node.isNull()) {
            return ids;
        }
        if (node.isInt() && node.intValue() >= 0) {
            ids.add(node.intValue());
        } else if (node.isArray()) {
            for (JsonNode id : node) {
                if (!id.isInt() || id.intValue() < 0) {
                    throw new ModelConfigException(field + " must hold non-negative integers, got " + id);
                }
                ids.add(id.intValue());
            }
        } else {
            throw new ModelConfigException(field + " must be a non-negative integer or a list of them, got " + node);
        }
        return ids;
    }
}
