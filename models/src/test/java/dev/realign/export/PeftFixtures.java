package dev.realign.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.realign.checkpoint.SafetensorsWriter;
import dev.realign.checkpoint.TensorData;
import dev.realign.model.ModelConfig;
import dev.realign.model.TensorLayout;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/** Random PEFT LoRA adapters written by hand, as PEFT's {@code save_pretrained} lays them out. */
final class PeftFixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PeftFixtures() {}

    /**
     * Writes {@code adapter_config.json} and {@code adapter_model.safetensors} into {@code dir}: for every layer
     * and every module suffix (e.g. {@code self_attn.q_proj}), A ~ N(0, 1/in) of shape (r, in) and
     * B ~ N(0, 0.25/r) of shape (out, r), so that the delta (alpha/r) B A is as large as the base weights and
     * changes what the model generates.
     */
    static Path writeRandomLora(Path dir, ModelConfig config, List<String> moduleSuffixes, int r, double alpha,
                                long seed, Consumer<ObjectNode> configEdit) {
        var shapes = TensorLayout.expected(config);
        SequencedMap<String, TensorData> tensors = new LinkedHashMap<>();
        SplittableRandom random = new SplittableRandom(seed);
        for (int layer = 0; layer < config.numLayers(); layer++) {
            for (String suffix : moduleSuffixes) {
                String module = TensorLayout.layer(layer, suffix);
                long[] shape = shapes.get(module + ".weight");
                int out = Math.toIntExact(shape[0]);
                int in = Math.toIntExact(shape[1]);
                float[] a = gaussian(random, r * in, 1 / Math.sqrt(in));
                float[] b = gaussian(random, out * r, 0.5 / Math.sqrt(r));
                tensors.put("base_model.model." + module + ".lora_A.weight", TensorData.ofFloats(a, r, in));
                tensors.put("base_model.model." + module + ".lora_B.weight", TensorData.ofFloats(b, out, r));
            }
        }
        ObjectNode c = JSON.createObjectNode();
        c.put("peft_type", "LORA");
        c.put("task_type", "CAUSAL_LM");
        c.put("base_model_name_or_path", "synthetic");
        c.put("r", r);
        c.put("lora_alpha", alpha);
        c.put("lora_dropout", 0.0);
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("use_rslora", false);
        c.put("use_dora", false);
        c.putNull("modules_to_save");
        var targets = c.putArray("target_modules");
        moduleSuffixes.forEach(s -> targets.add(s.substring(s.lastIndexOf('.') + 1)));
        c.putObject("rank_pattern");
        c.putObject("alpha_pattern");
        configEdit.accept(c);
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("adapter_config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors);
        return dir;
    }

    static Path writeRandomLora(Path dir, ModelConfig config, List<String> moduleSuffixes, int r, double alpha, long seed) {
        return writeRandomLora(dir, config, moduleSuffixes, r, alpha, seed, c -> {});
    }

    private static float[] gaussian(SplittableRandom random, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (std * random.nextGaussian());
        }
        return v;
    }
}
