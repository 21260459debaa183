package dev.realign.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.checkpoint.SafetensorsFile;
import dev.realign.checkpoint.TensorInfo;
import dev.realign.model.ModelConfig;
import dev.realign.model.TensorLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter folder ({@code adapter_config.json} + {@code adapter_model.safetensors}) as a llama.cpp
 * LoRA adapter: {@code general.type = adapter}, {@code adapter.type = lora}, {@code adapter.lora.alpha}, and per
 * adapted weight {@code <gguf name>.lora_a} (PEFT's A, (r, in)) and {@code <gguf name>.lora_b} (PEFT's B,
 * (out, r)); in ggml's order these are {@code [in, r]} and {@code [r, out]}, the shapes llama.cpp checks.
 *
 * <p>llama.cpp scales every pair by {@code alpha / rank} (rank read off the tensor). PEFT's scale is
 * {@code alpha_m / r_m}, or {@code alpha_m / sqrt(r_m)} with rsLoRA, per module under rank_pattern and
 * alpha_pattern; where the two differ, B is multiplied by their ratio, so llama.cpp applies exactly PEFT's
 * delta {@code scale * B @ A}. For the llama architecture the rows of B of q_proj and k_proj are interleaved
 * like the base weights (the delta's rows are B's rows).
 */
final class GgufLoraExport {
    static final String CONFIG_FILE = "adapter_config.json";
    static final String WEIGHTS_FILE = "adapter_model.safetensors";
    private static final String PREFIX = "base_model.model.";
    private static final ObjectMapper JSON = new ObjectMapper();

    private GgufLoraExport() {}

    /** One adapted weight: PEFT's tensor names and the scale PEFT applies. */
    record Pair(String baseName, String aName, String bName, int rank, double scale) {}

    static GgufExportResult export(Path adapterDir, Path baseModelDir, Path out, GgufDtype dtype) {
        ModelConfig config = ModelConfig.load(baseModelDir);
        String source = baseModelDir.resolve("config.json").toString();
        GgufArchitecture arch = GgufArchitecture.of(config, source);
        Path configFile = adapterDir.resolve(CONFIG_FILE);
        JsonNode adapterConfig = readConfig(configFile);
        String where = configFile.toString();
        checkSupported(adapterConfig, where);
        double alpha = number(adapterConfig, "lora_alpha", where);
        Path weightsFile = adapterDir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(weightsFile)) {
            throw new GgufExportException(weightsFile + ": missing (the adapter's weights must be safetensors)");
        }
        try (SafetensorsFile weights = SafetensorsFile.open(weightsFile)) {
            List<Pair> pairs = pairs(weights, adapterConfig, config, where);
            GgufWriter writer = new GgufWriter();
            writer.putString("general.architecture", arch.name());
            writer.putString("general.type", "adapter");
            writer.putString("general.name", adapterDir.toAbsolutePath().normalize().getFileName().toString());
            writer.putUInt32("general.file_type", dtype.fileType());
            writer.putUInt32("general.quantization_version", 2);
            writer.putString("adapter.type", "lora");
            writer.putFloat32("adapter.lora.alpha", (float) alpha);
            GgufWriter.TensorType type = dtype.matrixType();
            for (Pair pair : pairs) {
                String gguf = arch.tensorName(pair.baseName());
                TensorInfo a = weights.info(pair.aName());
                TensorInfo b = weights.info(pair.bName());
                // llama.cpp's scale for this pair; fold PEFT's own scale into B where they differ.
                double llamaScale = alpha != 0 ? alpha / pair.rank() : 1;
                float fold = (float) (pair.scale() / llamaScale);
                int heads = arch.permutedHeads(pair.baseName(), config);
                writer.addTensor(gguf + ".lora_a", type, a.shape(),
                        () -> GgufExporter.encode(weights.floats(pair.aName()), type, pair.aName()));
                writer.addTensor(gguf + ".lora_b", type, b.shape(), () -> {
                    float[] values = weights.floats(pair.bName());
                    if (fold != 1f) {
                        for (int i = 0; i < values.length; i++) {
                            values[i] *= fold;
                        }
                    }
                    if (heads > 0) {
                        values = GgufArchitecture.interleaveRows(values, heads, config.headDim(), pair.rank());
                    }
                    return GgufExporter.encode(values, type, pair.bName());
                });
            }
            long bytes = writer.write(out);
            return new GgufExportResult(out, arch.name(), writer.tensorCount(), bytes, List.of());
        }
    }

    private static void checkSupported(JsonNode c, String where) {
        String peftType = c.path("peft_type").asText("LORA");
        if (!peftType.equals("LORA")) {
            throw new GgufExportException(where + ": peft_type '" + peftType + "' is not LORA");
        }
        if (c.path("use_dora").asBoolean(false)) {
            throw new GgufExportException(where + ": use_dora=true cannot be expressed: llama.cpp adapters are plain LoRA");
        }
        if (c.path("fan_in_fan_out").asBoolean(false)) {
            throw new GgufExportException(where + ": fan_in_fan_out=true (Conv1D layers) does not fit Llama-family"
                    + " linear layers");
        }
        JsonNode modulesToSave = c.path("modules_to_save");
        if (modulesToSave.isArray() && !modulesToSave.isEmpty()) {
            throw new GgufExportException(where + ": modules_to_save " + modulesToSave + " (fully trained modules)"
                    + " cannot be expressed in a llama.cpp LoRA adapter");
        }
        if (c.path("lora_bias").asBoolean(false)) {
            throw new GgufExportException(where + ": lora_bias=true cannot be expressed in a llama.cpp LoRA adapter");
        }
    }

    private static List<Pair> pairs(SafetensorsFile weights, JsonNode adapterConfig, ModelConfig config, String where) {
        var expected = TensorLayout.expected(config);
        SequencedMap<String, String[]> modules = new LinkedHashMap<>(); // module -> {A name, B name}
        for (String name : weights.names()) {
            String module;
            int slot;
            if (name.endsWith(".lora_A.weight")) {
                module = name.substring(0, name.length() - ".lora_A.weight".length());
                slot = 0;
            } else if (name.endsWith(".lora_B.weight")) {
                module = name.substring(0, name.length() - ".lora_B.weight".length());
                slot = 1;
            } else if (name.contains("lora_embedding_")) {
                throw new GgufExportException(weights.path() + ": tensor '" + name + "' is an embedding LoRA, which"
                        + " this exporter does not support");
            } else {
                throw new GgufExportException(weights.path() + ": tensor '" + name + "' is not a lora_A or lora_B"
                        + " weight (trained biases, norms or full modules cannot be expressed in a llama.cpp LoRA adapter)");
            }
            if (!module.startsWith(PREFIX)) {
                throw new GgufExportException(weights.path() + ": tensor '" + name + "' does not start with '" + PREFIX
                        + "' as PEFT names the modules of a causal LM");
            }
            modules.computeIfAbsent(module.substring(PREFIX.length()), k -> new String[2])[slot] = name;
        }
        if (modules.isEmpty()) {
            throw new GgufExportException(weights.path() + ": holds no LoRA tensors");
        }
        int defaultRank = positiveInt(adapterConfig, "r", where);
        double defaultAlpha = number(adapterConfig, "lora_alpha", where);
        boolean rslora = adapterConfig.path("use_rslora").asBoolean(false);
        Map<String, JsonNode> rankPattern = patterns(adapterConfig.path("rank_pattern"));
        Map<String, JsonNode> alphaPattern = patterns(adapterConfig.path("alpha_pattern"));
        List<Pair> pairs = new ArrayList<>();
        for (var entry : modules.entrySet()) {
            String module = entry.getKey();
            String[] ab = entry.getValue();
            String baseName = module + ".weight";
            if (ab[0] == null || ab[1] == null) {
                throw new GgufExportException(weights.path() + ": module '" + module + "' has lora_"
                        + (ab[0] == null ? "B but no lora_A" : "A but no lora_B"));
            }
            long[] baseShape = expected.get(baseName);
            if (baseShape == null || baseShape.length != 2) {
                throw new GgufExportException(weights.path() + ": module '" + module + "' adapts '" + baseName
                        + "', which is not a weight matrix of the base model's linear layers");
            }
            if (baseName.equals(TensorLayout.EMBED)) {
                throw new GgufExportException(weights.path() + ": LoRA on the token embedding is not supported");
            }
            long[] a = weights.info(ab[0]).shape();
            long[] b = weights.info(ab[1]).shape();
            if (a.length != 2 || b.length != 2 || a[0] != b[1] || a[1] != baseShape[1] || b[0] != baseShape[0]) {
                throw new GgufExportException(weights.path() + ": module '" + module + "': lora_A "
                        + java.util.Arrays.toString(a) + " and lora_B " + java.util.Arrays.toString(b)
                        + " do not fit the base weight " + java.util.Arrays.toString(baseShape) + " as (r, in) and (out, r)");
            }
            int rank = Math.toIntExact(a[0]);
            JsonNode rankOverride = match(rankPattern, module);
            int configuredRank = rankOverride != null ? rankOverride.asInt() : defaultRank;
            if (configuredRank != rank) {
                throw new GgufExportException(weights.path() + ": module '" + module + "' has rank " + rank
                        + " but adapter_config.json says " + configuredRank);
            }
            JsonNode alphaOverride = match(alphaPattern, module);
            double alpha = alphaOverride != null ? alphaOverride.asDouble() : defaultAlpha;
            double scale = rslora ? alpha / Math.sqrt(rank) : alpha / rank;
            pairs.add(new Pair(baseName, ab[0], ab[1], rank, scale));
        }
        return pairs;
    }

    private static Map<String, JsonNode> patterns(JsonNode node) {
        Map<String, JsonNode> patterns = new LinkedHashMap<>();
        if (node.isObject()) {
            for (var e : node.properties()) {
                patterns.put(e.getKey(), e.getValue());
            }
        }
        return patterns;
    }

    /** PEFT's rule: the first pattern key that matches the end of the module name at a dot boundary. */
    private static JsonNode match(Map<String, JsonNode> patterns, String module) {
        for (var e : patterns.entrySet()) {
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")").matcher(module).matches()) {
                return e.getValue();
            }
        }
        return null;
    }

    private static JsonNode readConfig(Path file) {
        try {
            JsonNode node = JSON.readTree(Files.readString(file));
            if (node == null || !node.isObject()) {
                throw new GgufExportException(file + ": expected a JSON object");
            }
            return node;
        } catch (NoSuchFileException e) {
            throw new GgufExportException(file + ": missing (a PEFT adapter folder needs it)");
        } catch (IOException e) {
            throw new GgufExportException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static int positiveInt(JsonNode c, String field, String where) {
        JsonNode v = c.path(field);
        if (!v.canConvertToInt() || v.intValue() <= 0) {
            throw new GgufExportException(where + ": " + field + " must be a positive integer, got " + v);
        }
        return v.intValue();
    }

    private static double number(JsonNode c, String field, String where) {
        JsonNode v = c.path(field);
        if (!v.isNumber() || !Double.isFinite(v.doubleValue()) || v.doubleValue() < 0) {
            throw new GgufExportException(where + ": " + field + " must be a non-negative number, got " + v);
        }
        return v.doubleValue();
    }
}
