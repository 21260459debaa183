package dev.realign.safety;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A logistic-regression refusal classifier on sentence embeddings: P(refusal | e) = sigmoid(w . e + b). The
 * file records which encoder and truncation produced the embeddings it was trained on, so a head is never
 * applied to embeddings of another kind.
 *
 * <p>File format (JSON): {@code format} = {@value #FORMAT}, {@code encoder}, {@code features},
 * {@code max_tokens}, {@code weights} (one number per feature), {@code bias}, and an informative {@code training}
 * object (seed, examples, l2) that the loader ignores.
 *
 * @param encoder     the encoder name, e.g. {@link MiniLmEncoder#NAME}
 * @param features    the layout of the features built from its embeddings, e.g. {@code response+opening}
 * @param maxTokens   the truncation the training embeddings used
 * @param weights     (dimension)
 * @param bias        the intercept
 * @param training    how it was trained, for the record (may be empty)
 */
public record RefusalHead(String encoder, String features, int maxTokens, float[] weights, float bias,
                          Map<String, Object> training) {
    public static final String FORMAT = "realign-refusal-head/1";
    /** The head trained by {@link SemanticHeadTrainer} and shipped in the jar. */
    public static final String BUNDLED_RESOURCE = "/dev/realign/safety/semantic-refusal-head.json";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    public RefusalHead {
        weights = weights.clone();
        training = Map.copyOf(training);
        if (!Float.isFinite(bias)) {
            throw new IllegalArgumentException("refusal head bias is not finite: " + bias);
        }
        for (int i = 0; i < weights.length; i++) {
            if (!Float.isFinite(weights[i])) {
                throw new IllegalArgumentException("refusal head weight " + i + " is not finite: " + weights[i]);
            }
        }
    }

    @Override
    public float[] weights() {
        return weights.clone();
    }

    /** P(refusal) for one feature vector of {@code weights().length} values. */
    public double probability(float[] features) {
        if (features.length != weights.length) {
            throw new IllegalArgumentException("feature vector has " + features.length + " values, the refusal head "
                    + weights.length);
        }
        double z = bias;
        for (int i = 0; i < weights.length; i++) {
            z += (double) weights[i] * features[i];
        }
        return sigmoid(z);
    }

    static double sigmoid(double z) {
        // Split by sign so exp never overflows.
        if (z >= 0) {
            return 1 / (1 + Math.exp(-z));
        }
        double e = Math.exp(z);
        return e / (1 + e);
    }

    /** The head shipped in the jar. */
    public static RefusalHead loadBundled() {
        try (InputStream in = RefusalHead.class.getResourceAsStream(BUNDLED_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the refusal head resource " + BUNDLED_RESOURCE
                        + " is missing from the class path (regenerate it with SemanticHeadTrainer)");
            }
            return parse(in.readAllBytes(), BUNDLED_RESOURCE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the refusal head resource " + BUNDLED_RESOURCE, e);
        }
    }

    public static RefusalHead load(Path file) {
        try {
            return parse(Files.readAllBytes(file), file.toString());
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("refusal head file " + file + " does not exist", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read refusal head file " + file, e);
        }
    }

    /** Parses a head file's bytes; {@code source} names the file in errors. */
    static RefusalHead parse(byte[] bytes, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (JacksonException e) {
            throw new IllegalArgumentException(source + ": refusal head is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(source + ": cannot parse refusal head", e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(source + ": refusal head must be a JSON object");
        }
        String format = text(root, "format", source);
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException(source + ": field 'format' is '" + format + "', expected '" + FORMAT + "'");
        }
        String encoder = text(root, "encoder", source);
        String features = text(root, "features", source);
        JsonNode maxTokens = root.get("max_tokens");
        if (maxTokens == null || !maxTokens.canConvertToInt() || !maxTokens.isIntegralNumber() || maxTokens.intValue() < 3) {
            throw new IllegalArgumentException(source + ": field 'max_tokens' must be an integer >= 3, got " + maxTokens);
        }
        JsonNode weightsNode = root.get("weights");
        if (weightsNode == null || !weightsNode.isArray() || weightsNode.isEmpty()) {
            throw new IllegalArgumentException(source + ": field 'weights' must be a non-empty array of numbers");
        }
        float[] weights = new float[weightsNode.size()];
        for (int i = 0; i < weights.length; i++) {
            JsonNode w = weightsNode.get(i);
            if (!w.isNumber()) {
                throw new IllegalArgumentException(source + ": field 'weights'[" + i + "] is not a number: " + w);
            }
            weights[i] = w.floatValue();
        }
        JsonNode bias = root.get("bias");
        if (bias == null || !bias.isNumber()) {
            throw new IllegalArgumentException(source + ": field 'bias' must be a number, got " + bias);
        }
        JsonNode trainingNode = root.get("training");
        @SuppressWarnings("unchecked")
        Map<String, Object> training = trainingNode == null || !trainingNode.isObject()
                ? Map.of() : JSON.convertValue(trainingNode, Map.class);
        try {
            return new RefusalHead(encoder, features, maxTokens.intValue(), weights, bias.floatValue(), training);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode root, String field, String source) {
        JsonNode node = root.get(field);
        if (node == null || !node.isTextual()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be a string, got " + node);
        }
        return node.textValue();
    }

    /** Writes the head in the format {@link #load} reads. */
    public void write(Path file) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("encoder", encoder);
        root.put("features", features);
        root.put("max_tokens", maxTokens);
        root.put("bias", bias);
        root.set("training", JSON.valueToTree(new java.util.TreeMap<>(training)));
        ArrayNode array = root.putArray("weights");
        for (float w : weights) {
            array.add(w);
        }
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, JSON.writeValueAsString(root) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write refusal head file " + file, e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RefusalHead h && encoder.equals(h.encoder) && features.equals(h.features) && maxTokens == h.maxTokens
                && Arrays.equals(weights, h.weights) && Float.compare(bias, h.bias) == 0 && training.equals(h.training);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * encoder.hashCode() + maxTokens) + Arrays.hashCode(weights) + Float.hashCode(bias);
    }

    @Override
    public String toString() {
        return "RefusalHead[encoder=" + encoder + ", features=" + features + ", maxTokens=" + maxTokens + ", dimension=" + weights.length
                + ", bias=" + bias + ", training=" + training + "]";
    }
}
