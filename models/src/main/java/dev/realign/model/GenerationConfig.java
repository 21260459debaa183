package dev.realign.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * Hugging Face's {@code generation_config.json}: the model author's sampling defaults and end tokens.
 * Requests that leave a sampling field unset get these values (as vLLM does).
 */
public record GenerationConfig(List<Integer> eosTokenIds, boolean doSample, OptionalDouble temperature,
                               OptionalDouble topP, OptionalInt topK, OptionalDouble repetitionPenalty,
                               OptionalInt maxNewTokens) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final GenerationConfig NONE = new GenerationConfig(List.of(), false, OptionalDouble.empty(),
            OptionalDouble.empty(), OptionalInt.empty(), OptionalDouble.empty(), OptionalInt.empty());

    public GenerationConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** Reads the file if the folder has one; a model without it is served with no defaults. */
    public static GenerationConfig load(Path modelDir) {
        Path file = modelDir.resolve("generation_config.json");
        if (!Files.exists(file)) {
            return NONE;
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new ModelConfigException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelConfigException(file + ": expected a JSON object");
        }
        var fields = new JsonFields(root, file.toString());
        return new GenerationConfig(
                ModelConfig.tokenIds(root.get("eos_token_id"), file + ": eos_token_id"),
                fields.optionalBoolean("do_sample").orElse(false),
                nonNegative(fields, "temperature"),
                fields.optionalPositiveDouble("top_p"),
                fields.optionalNonNegativeInt("top_k"),
                fields.optionalPositiveDouble("repetition_penalty"),
                fields.optionalPositiveInt("max_new_tokens"));
    }

    private static OptionalDouble nonNegative(JsonFields fields, String field) {
        JsonNode value = fields.node(field);
        if (value != null && value.isNumber() && value.doubleValue() == 0) {
            return OptionalDouble.of(0);
        }
        return fields.optionalPositiveDouble(field);
    }
}
