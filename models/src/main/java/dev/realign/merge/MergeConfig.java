package dev.realign.merge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A merge written in mergekit's YAML shape (JSON is YAML too):
 * <pre>
 * merge_method: ties
 * base_model: path/to/aligned
 * models:
 *   - model: path/to/task-full                      # a full fine-tune of the base
 *     parameters: {weight: 0.7, density: 0.5}
 *   - model: path/to/aligned+path/to/task-lora      # mergekit's BASE+LORA: the base with a PEFT adapter
 *     parameters: {weight: 0.3}
 * parameters: {normalize: true, lambda: 1.0}
 * </pre>
 * Paths are relative to the working directory, as in mergekit. Errors name the field.
 *
 * @param parameters method-wide parameters, passed to the method as they are (it rejects unknown ones)
 */
public record MergeConfig(String method, Path baseModel, List<Member> models, Map<String, Object> parameters) {
    /** One model of the merge; {@code lora} is null for a full model. */
    public record Member(Path model, Path lora, Double weight, double density) {}

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    public MergeConfig {
        models = List.copyOf(models);
        parameters = Map.copyOf(parameters);
    }

    public static MergeConfig load(Path file) {
        JsonNode root;
        try {
            root = YAML.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not valid YAML: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": expected a mapping with merge_method, base_model and models");
        }
        String method = text(root, "merge_method", file);
        Path base = Path.of(text(root, "base_model", file));
        JsonNode models = root.get("models");
        if (models == null || !models.isArray() || models.isEmpty()) {
            throw new IllegalArgumentException(file + ": models must be a non-empty list");
        }
        List<Member> members = new ArrayList<>();
        for (int i = 0; i < models.size(); i++) {
            members.add(member(models.get(i), file + ": models[" + i + "]"));
        }
        return new MergeConfig(method, base, members, scalars(root.get("parameters"), file + ": parameters"));
    }

    private static Member member(JsonNode node, String where) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(where + " must be a mapping with 'model'");
        }
        String spec = text(node, "model", where);
        Path model;
        Path lora = null;
        int plus = spec.indexOf('+');
        if (plus >= 0) {
            model = Path.of(spec.substring(0, plus));
            lora = Path.of(spec.substring(plus + 1));
        } else {
            model = Path.of(spec);
        }
        Map<String, Object> params = scalars(node.get("parameters"), where + ".parameters");
        Double weight = null;
        double density = 1;
        for (var entry : params.entrySet()) {
            switch (entry.getKey()) {
                case "weight" -> weight = number(entry.getValue(), where + ".parameters.weight");
                case "density" -> density = number(entry.getValue(), where + ".parameters.density");
                default -> throw new IllegalArgumentException(where + ".parameters." + entry.getKey()
                        + " is not a per-model parameter (weight, density)");
            }
        }
        return new Member(model, lora, weight, density);
    }

    private static Map<String, Object> scalars(JsonNode node, String where) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (node == null || node.isNull()) {
            return out;
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException(where + " must be a mapping");
        }
        for (var it = node.fields(); it.hasNext(); ) {
            var field = it.next();
            JsonNode v = field.getValue();
            Object value;
            if (v.isBoolean()) {
                value = v.booleanValue();
            } else if (v.isIntegralNumber()) {
                value = v.longValue();
            } else if (v.isNumber()) {
                value = v.doubleValue();
            } else if (v.isTextual()) {
                value = v.textValue();
            } else {
                throw new IllegalArgumentException(where + "." + field.getKey()
                        + " must be a number, true/false or text (per-tensor gradients are not supported)");
            }
            out.put(field.getKey(), value);
        }
        return out;
    }

    private static String text(JsonNode node, String field, Object where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual() || v.textValue().isBlank()) {
            throw new IllegalArgumentException(where + ": " + field + " is required (text)");
        }
        return v.textValue();
    }

    private static double number(Object value, String where) {
        if (value instanceof Number n) {
            return n.doubleValue();
        }
        throw new IllegalArgumentException(where + " must be a number, got " + value);
    }
}
