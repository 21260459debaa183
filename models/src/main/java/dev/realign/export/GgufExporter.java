package dev.realign.export;

import dev.realign.checkpoint.Checkpoints;
import dev.realign.checkpoint.WeightSource;
import dev.realign.model.ModelConfig;
import dev.realign.model.RopeScaling;
import dev.realign.model.TensorLayout;
import dev.realign.model.Weights;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Exports models and LoRA adapters as GGUF files that llama.cpp (and so Ollama, LM Studio, ...) loads.
 *
 * <p>A model export writes what Realign's engine runs, nothing more: the tensors {@link TensorLayout} names for
 * the config (other tensors in a checkpoint are ignored, as the engine ignores them), renamed to llama.cpp's
 * names, q/k rows interleaved where llama.cpp's architecture needs it ({@link GgufArchitecture}), llama3 rope
 * scaling as a {@code rope_freqs.weight} tensor of per-frequency divisors, and the tokenizer as
 * {@link GgufTokenizer} describes. Matrices are F32 or F16; vectors (norms, biases, rope factors) stay F32.
 *
 * <p>The weights may come from a model folder or from any {@link Weights} view, such as a merged profile whose
 * overrides replace some tensors: config.json and the tokenizer files are always read from the model folder.
 *
 * <p>Everything llama.cpp cannot express is a {@link GgufExportException} naming it, raised before anything is
 * written (a config the engine itself rejects is a {@code ModelConfigException} from {@link ModelConfig#load}).
 * The file is written beside the target and moved in place; a failure while writing (such as a value that
 * overflows F16) removes the partial file, so an export never leaves a broken file behind.
 */
public final class GgufExporter {
    private GgufExporter() {}

    /** Exports the model folder (config.json, safetensors, tokenizer.json) to {@code out}. */
    public static GgufExportResult exportModel(Path modelDir, Path out, GgufDtype dtype) {
        return exportModel(modelDir, out, GgufExportOptions.of(dtype));
    }

    /** Exports the model folder (config.json, safetensors, tokenizer.json) to {@code out}. */
    public static GgufExportResult exportModel(Path modelDir, Path out, GgufExportOptions options) {
        ModelConfig config = ModelConfig.load(modelDir);
        try (WeightSource source = Checkpoints.openFolder(modelDir)) {
            return exportModel(ExportTensors.of(source), config, modelDir, out, options);
        }
    }

    /**
     * Exports engine weights (the base model's, or a merged profile's view) with the config they carry and the
     * tokenizer of {@code modelDir}.
     */
    public static GgufExportResult exportModel(Weights weights, Path modelDir, Path out, GgufExportOptions options) {
        return exportModel(ExportTensors.of(weights), weights.config(), modelDir, out, options);
    }

    /**
     * The general form: {@code tensors} in Hugging Face names and layout, described by {@code config}, with the
     * tokenizer files of {@code modelDir}.
     */
    public static GgufExportResult exportModel(ExportTensors tensors, ModelConfig config, Path modelDir, Path out,
                                               GgufExportOptions options) {
        String source = modelDir.resolve("config.json").toString();
        GgufArchitecture arch = GgufArchitecture.of(config, source);
        List<String> notes = new ArrayList<>();
        int contextLength = contextLength(config, options, source, notes);
        GgufTokenizer tokenizer = GgufTokenizer.read(modelDir, config, notes);

        GgufWriter writer = new GgufWriter();
        String a = arch.name();
        writer.putString("general.architecture", a);
        writer.putString("general.type", "model");
        writer.putString("general.name", options.name() != null ? options.name() : modelName(modelDir));
        writer.putUInt32("general.file_type", options.dtype().fileType());
        writer.putUInt32("general.quantization_version", 2);
        writer.putUInt32(a + ".vocab_size", config.vocabSize());
        writer.putUInt32(a + ".context_length", contextLength);
        writer.putUInt32(a + ".embedding_length", config.hiddenSize());
        writer.putUInt32(a + ".block_count", config.numLayers());
        writer.putUInt32(a + ".feed_forward_length", config.intermediateSize());
        writer.putUInt32(a + ".attention.head_count", config.numHeads());
        writer.putUInt32(a + ".attention.head_count_kv", config.numKvHeads());
        writer.putUInt32(a + ".attention.key_length", config.headDim());
        writer.putUInt32(a + ".attention.value_length", config.headDim());
        writer.putFloat32(a + ".attention.layer_norm_rms_epsilon", (float) config.rmsNormEps());
        writer.putFloat32(a + ".rope.freq_base", (float) config.ropeTheta());
        writer.putUInt32(a + ".rope.dimension_count", config.headDim());
        RopeScaling scaling = config.ropeScaling();
        if (scaling.type() == RopeScaling.Type.LINEAR) {
            writer.putString(a + ".rope.scaling.type", "linear");
            writer.putFloat32(a + ".rope.scaling.factor", (float) scaling.factor());
        }
        tokenizer.apply(writer);

        var expected = TensorLayout.expected(config);
        for (var entry : expected.entrySet()) {
            String name = entry.getKey();
            if (!tensors.contains(name)) {
                throw new GgufExportException(modelDir + ": tensor '" + name + "' is missing (the config "
                        + config.modelType() + " with " + config.numLayers() + " layers needs it)");
            }
            long[] shape = tensors.shape(name);
            if (!Arrays.equals(shape, entry.getValue())) {
                throw new GgufExportException(modelDir + ": tensor '" + name + "' has shape " + Arrays.toString(shape)
                        + " but the config needs " + Arrays.toString(entry.getValue()));
            }
            int heads = arch.permutedHeads(name, config);
            GgufWriter.TensorType type = shape.length == 1 ? GgufWriter.TensorType.F32 : options.dtype().matrixType();
            writer.addTensor(arch.tensorName(name), type, shape, () -> {
                float[] values = tensors.floats(name);
                if (heads > 0) {
                    int cols = shape.length == 1 ? 1 : Math.toIntExact(shape[1]);
                    values = GgufArchitecture.interleaveRows(values, heads, config.headDim(), cols);
                }
                return encode(values, type, name);
            });
        }
        if (scaling.type() == RopeScaling.Type.LLAMA3) {
            float[] factors = ropeFactors(config);
            writer.addTensor("rope_freqs.weight", GgufWriter.TensorType.F32, new long[] {factors.length},
                    () -> encode(factors, GgufWriter.TensorType.F32, "rope_freqs.weight"));
        }
        long bytes = writer.write(out);
        return new GgufExportResult(out, a, writer.tensorCount(), bytes, notes);
    }

    /**
     * Exports a PEFT LoRA adapter folder ({@code adapter_config.json} + {@code adapter_model.safetensors}) as a
     * llama.cpp LoRA adapter for the base model in {@code baseModelDir} (whose config.json decides the
     * architecture and the q/k layout). Applied in llama.cpp with scale 1, it adds PEFT's delta
     * {@code scale * B @ A} to each adapted weight; see {@link GgufLoraExport} for how scales are carried.
     */
    public static GgufExportResult exportLora(Path adapterDir, Path baseModelDir, Path out, GgufDtype dtype) {
        return GgufLoraExport.export(adapterDir, baseModelDir, out, dtype);
    }

    /**
     * llama3 rope scaling as llama.cpp applies it: each rotary frequency is divided by its factor, so the factor
     * is the unscaled frequency over the scaled one that the engine uses ({@link RopeScaling}).
     */
    static float[] ropeFactors(ModelConfig config) {
        double[] plain = RopeScaling.NONE.inverseFrequencies(config.ropeTheta(), config.headDim());
        double[] scaled = config.ropeScaling().inverseFrequencies(config.ropeTheta(), config.headDim());
        float[] factors = new float[plain.length];
        for (int i = 0; i < plain.length; i++) {
            factors[i] = (float) (plain[i] / scaled[i]);
        }
        return factors;
    }

    private static int contextLength(ModelConfig config, GgufExportOptions options, String source, List<String> notes) {
        int window = config.slidingWindow();
        if (window <= 0 || window >= config.maxPositions()) {
            return config.maxPositions();
        }
        if (!options.limitContextToSlidingWindow()) {
            throw new GgufExportException(source + ": sliding_window " + window + " is shorter than"
                    + " max_position_embeddings " + config.maxPositions() + ", and llama.cpp's llama architecture has no"
                    + " sliding-window attention: past " + window + " tokens it would attend to keys this model masks."
                    + " Export with the context limited to the window to get a file that is exact within it");
        }
        notes.add("context_length is the sliding window, " + window + " (max_position_embeddings is "
                + config.maxPositions() + "): llama.cpp has no sliding-window attention, so the file is exact only"
                + " up to " + window + " tokens");
        return window;
    }

    private static String modelName(Path modelDir) {
        Path name = modelDir.toAbsolutePath().normalize().getFileName();
        return name == null ? "model" : name.toString();
    }

    /** Little-endian bytes of {@code values} as F32 or F16; values that overflow fp16 are an error naming the tensor. */
    static ByteBuffer encode(float[] values, GgufWriter.TensorType type, String name) {
        ByteBuffer out = ByteBuffer.allocate(values.length * type.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        if (type == GgufWriter.TensorType.F32) {
            out.asFloatBuffer().put(values);
        } else {
            var shorts = out.asShortBuffer();
            for (float v : values) {
                short half = Float.floatToFloat16(v);
                if (Float.isFinite(v) && Float.isInfinite(Float.float16ToFloat(half))) {
                    throw new GgufExportException("tensor '" + name + "' holds " + v + ", which overflows F16;"
                            + " export it as F32");
                }
                shorts.put(half);
            }
        }
        return out;
    }
}
