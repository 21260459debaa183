package dev.realign.merge;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.realign.checkpoint.SafetensorsFile;
import dev.realign.checkpoint.SafetensorsWriter;
import dev.realign.checkpoint.TensorData;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/** Hand-written PEFT adapters and independent double-precision references for the merge tests. */
final class LoraTestFixtures {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String Q0 = "model.layers.0.self_attn.q_proj";
    static final String V1 = "model.layers.1.self_attn.v_proj";
    static final String DOWN0 = "model.layers.0.mlp.down_proj";

    private LoraTestFixtures() {}

    /** The tiny Llama 3 base (hidden 64, 2 layers, q (64, 64), k/v (32, 64), down (64, 128), untied lm_head). */
    static LoadedModel loadTinyBase(Path dir, long seed) {
        Path model = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, seed), dir);
        return LoadedModel.load("base", model, Device.cpu(), ComputeType.AUTO);
    }

    /** The usual fields of a PEFT LoRA config, in a mutable map. */
    static Map<String, Object> config(int r, double alpha, Object targetModules) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("peft_type", "LORA");
        c.put("task_type", "CAUSAL_LM");
        c.put("base_model_name_or_path", "tiny-base");
        c.put("r", r);
        c.put("lora_alpha", alpha);
        c.put("lora_dropout", 0.05);
        c.put("target_modules", targetModules);
        c.put("bias", "none");
        c.put("use_rslora", false);
        c.put("use_dora", false);
        c.put("fan_in_fan_out", false);
        c.put("init_lora_weights", true);
        c.put("rank_pattern", Map.of());
        c.put("alpha_pattern", Map.of());
        c.put("modules_to_save", null);
        return c;
    }

    static void writeAdapter(Path dir, Map<String, Object> config, SequencedMap<String, TensorData> tensors) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("adapter_config.json"), JSON.writeValueAsString(config));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
    }

    static String loraName(String module, String which) {
        return "base_model.model." + module + ".lora_" + which + ".weight";
    }

    static float[] random(SplittableRandom random, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (std * random.nextGaussian());
        }
        return out;
    }

    /** scale * B @ A in double: B (out, r), A (r, in), row-major. */
    static double[] reference(float[] a, float[] b, int out, int r, int in, double scale) {
        double[] d = new double[out * in];
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                double s = 0;
                for (int p = 0; p < r; p++) {
                    s += (double) b[i * r + p] * a[p * in + j];
                }
                d[i * in + j] = scale * s;
            }
        }
        return d;
    }

    /** Every element within {@code relative} times the largest |expected|. */
    static void assertClose(NDArray actual, double[] expected, double relative) {
        assertClose(actual.toFloatArray(), expected, relative);
    }

    static void assertClose(float[] actual, double[] expected, double relative) {
        assertThat(actual).hasSize(expected.length);
        double max = 0;
        for (double e : expected) {
            max = Math.max(max, Math.abs(e));
        }
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertThat(worst).as("max abs error against max |expected| %s", max).isLessThanOrEqualTo(relative * max);
    }

    static double[] widen(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    /**
     * Copies a model folder to {@code to}, with some tensors of model.safetensors replaced: {@code edit} gets each
     * tensor's name and bytes and returns the new TensorData, or null to keep it.
     */
    static Path copyModel(Path from, Path to, BiFunction<String, TensorData, TensorData> edit) {
        try {
            Files.createDirectories(to);
            try (var files = Files.list(from)) {
                for (Path f : files.toList()) {
                    if (!f.getFileName().toString().equals("model.safetensors")) {
                        Files.copy(f, to.resolve(f.getFileName()));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SequencedMap<String, TensorData> tensors = new LinkedHashMap<>();
        try (SafetensorsFile source = SafetensorsFile.open(from.resolve("model.safetensors"))) {
            for (String n : source.names()) {
                var info = source.info(n);
                ByteBuffer copy = ByteBuffer.allocate(Math.toIntExact(info.byteSize()));
                copy.put(source.data(n)).flip();
                TensorData original = new TensorData(info.dtype(), info.shape(), copy);
                TensorData edited = edit.apply(n, original);
                tensors.put(n, edited == null ? original : edited);
            }
        }
        SafetensorsWriter.write(to.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        return to;
    }
}
