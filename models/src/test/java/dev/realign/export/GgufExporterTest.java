package dev.realign.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.realign.checkpoint.SafetensorsFile;
import dev.realign.checkpoint.SafetensorsWriter;
import dev.realign.checkpoint.TensorData;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.ModelConfig;
import dev.realign.model.RopeScaling;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.tokenize.ByteLevelBpeTrainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the exporter writes, read back with {@link GgufReader}, and what it refuses to write. */
class GgufExporterTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private Path model(Architecture arch) {
        return SyntheticModels.write(SyntheticModelSpec.tiny(arch, 5), tmp.resolve(arch.name()));
    }

    private static void edit(Path file, Consumer<ObjectNode> edit) {
        try {
            ObjectNode node = (ObjectNode) JSON.readTree(Files.readString(file));
            edit.accept(node);
            Files.writeString(file, JSON.writeValueAsString(node));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------ metadata and tensors

    @Test
    void llama3MetadataTokenizerAndTensorNames() {
        Path dir = model(Architecture.LLAMA3);
        Path out = tmp.resolve("l3.gguf");
        GgufExportResult result = GgufExporter.exportModel(dir, out, GgufDtype.F32);
        GgufReader r = GgufReader.read(out);
        assertThat(result.architecture()).isEqualTo("llama");
        assertThat(result.bytes()).isEqualTo(r.fileSize());
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("general.architecture", "llama");
        expected.put("general.type", "model");
        expected.put("general.name", "LLAMA3");
        expected.put("general.file_type", 0L);
        expected.put("llama.vocab_size", 416L);
        expected.put("llama.context_length", 512L);
        expected.put("llama.embedding_length", 64L);
        expected.put("llama.block_count", 2L);
        expected.put("llama.feed_forward_length", 128L);
        expected.put("llama.attention.head_count", 4L);
        expected.put("llama.attention.head_count_kv", 2L);
        expected.put("llama.attention.key_length", 16L);
        expected.put("llama.attention.value_length", 16L);
        expected.put("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        expected.put("llama.rope.freq_base", 500_000f);
        expected.put("llama.rope.dimension_count", 16L);
        expected.put("tokenizer.ggml.model", "gpt2");
        expected.put("tokenizer.ggml.pre", "gpt-2");
        expected.put("tokenizer.ggml.bos_token_id", 400L);
        expected.put("tokenizer.ggml.eos_token_id", 400L);
        expected.put("tokenizer.ggml.padding_token_id", 400L);
        expected.put("tokenizer.ggml.add_bos_token", false);
        expected.put("tokenizer.ggml.add_eos_token", false);
        expected.put("tokenizer.chat_template", ByteLevelBpeTrainer.CHATML_TEMPLATE);
        expected.forEach((k, v) -> assertThat(r.<Object>get(k)).as(k).isEqualTo(v));
        assertThat(r.metadata).doesNotContainKey("llama.rope.scaling.type");

        List<Object> tokens = r.get("tokenizer.ggml.tokens");
        List<Object> types = r.get("tokenizer.ggml.token_type");
        assertThat(tokens).hasSize(416);
        assertThat(tokens.get(32)).isEqualTo("Ġ"); // the space byte, byte-level encoded
        assertThat(tokens.subList(400, 403)).containsExactly("<|endoftext|>", "<|im_start|>", "<|im_end|>");
        assertThat(tokens.get(415)).isEqualTo("[PAD415]");
        assertThat(types.subList(0, 400)).containsOnly(1L);
        assertThat(types.subList(400, 403)).containsOnly(3L);
        assertThat(types.subList(403, 416)).containsOnly(5L);
        assertThat(r.<List<Object>>get("tokenizer.ggml.merges")).hasSize(SyntheticModels.tokenizer().merges().size())
                .first().isEqualTo(SyntheticModels.tokenizer().merges().getFirst());

        Set<String> names = new HashSet<>(r.tensors.keySet());
        assertThat(names).contains("token_embd.weight", "output_norm.weight", "output.weight", "rope_freqs.weight",
                "blk.1.attn_norm.weight", "blk.1.attn_q.weight", "blk.1.attn_k.weight", "blk.1.attn_v.weight",
                "blk.1.attn_output.weight", "blk.1.ffn_norm.weight", "blk.1.ffn_gate.weight", "blk.1.ffn_up.weight",
                "blk.1.ffn_down.weight");
        assertThat(names).hasSize(4 + 2 * 9);
        assertThat(r.tensors.get("token_embd.weight").ne()).containsExactly(64, 416);
        assertThat(r.tensors.get("blk.0.attn_k.weight").ne()).containsExactly(64, 32);
        assertThat(r.tensors.get("blk.0.ffn_down.weight").ne()).containsExactly(128, 64);
        assertThat(r.tensors.get("rope_freqs.weight").ne()).containsExactly(8);
    }

    /** Llama 3.1's rule, written out independently: per-frequency divisors of theta^(-2i/d). */
    @Test
    void ropeFreqsAreLlama3Divisors() {
        Path dir = model(Architecture.LLAMA3);
        Path out = tmp.resolve("l3.gguf");
        GgufExporter.exportModel(dir, out, GgufDtype.F32);
        float[] factors = GgufReader.read(out).floats("rope_freqs.weight");
        double theta = 500_000, factor = 8, low = 1, high = 4, original = 64;
        int d = 16;
        for (int i = 0; i < d / 2; i++) {
            double freq = Math.pow(theta, -2.0 * i / d);
            double wavelen = 2 * Math.PI / freq;
            double expected;
            if (wavelen < original / high) {
                expected = 1;
            } else if (wavelen > original / low) {
                expected = factor;
            } else {
                double smooth = (original / wavelen - low) / (high - low);
                expected = 1 / ((1 - smooth) / factor + smooth);
            }
            assertThat((double) factors[i]).as("factor %d", i).isCloseTo(expected, within(1e-5 * expected));
        }
        assertThat(factors).contains(1f).contains(8f); // all three bands occur in the tiny shape
    }

    /** Row h*d + 2j + s of the GGUF q/k is row h*d + s*d/2 + j of Hugging Face's, for llama only. */
    @Test
    void queryAndKeyRowsAreInterleavedForLlamaOnly() {
        for (Architecture arch : List.of(Architecture.LLAMA3, Architecture.QWEN2)) {
            Path dir = model(arch);
            Path out = tmp.resolve(arch + ".gguf");
            GgufExporter.exportModel(dir, out, GgufDtype.F32);
            GgufReader r = GgufReader.read(out);
            try (SafetensorsFile hf = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
                check(arch, hf.floats("model.layers.1.self_attn.q_proj.weight"), r.floats("blk.1.attn_q.weight"), 4, 64);
                check(arch, hf.floats("model.layers.1.self_attn.k_proj.weight"), r.floats("blk.1.attn_k.weight"), 2, 64);
                assertThat(r.floats("blk.1.attn_v.weight")).containsExactly(hf.floats("model.layers.1.self_attn.v_proj.weight"));
                if (arch == Architecture.QWEN2) {
                    assertThat(r.floats("blk.1.attn_q.bias")).containsExactly(hf.floats("model.layers.1.self_attn.q_proj.bias"));
                    assertThat(r.tensors).doesNotContainKey("output.weight"); // tied: llama.cpp reuses token_embd
                }
            }
        }
    }

    private static void check(Architecture arch, float[] hf, float[] gguf, int heads, int cols) {
        int d = 16;
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < d / 2; j++) {
                for (int s = 0; s < 2; s++) {
                    int gRow = h * d + (arch == Architecture.QWEN2 ? s * d / 2 + j : 2 * j + s);
                    int hRow = h * d + s * d / 2 + j;
                    for (int c = 0; c < cols; c++) {
                        assertThat(gguf[gRow * cols + c]).isEqualTo(hf[hRow * cols + c]);
                    }
                }
            }
        }
    }

    @Test
    void interleavingVectorsAndMatrices() {
        float[] bias = {0, 1, 2, 3, 10, 11, 12, 13}; // two heads of 4
        assertThat(GgufArchitecture.interleaveRows(bias, 2, 4, 1)).containsExactly(0, 2, 1, 3, 10, 12, 11, 13);
        float[] rows = {0, 0, 1, 1, 2, 2, 3, 3}; // one head of 4 rows, 2 columns
        assertThat(GgufArchitecture.interleaveRows(rows, 1, 4, 2)).containsExactly(0, 0, 2, 2, 1, 1, 3, 3);
    }

    @Test
    void f16KeepsVectorsInF32() {
        Path dir = model(Architecture.QWEN2);
        Path out = tmp.resolve("q2.gguf");
        GgufExporter.exportModel(dir, out, GgufDtype.F16);
        GgufReader r = GgufReader.read(out);
        assertThat(r.<Long>get("general.file_type")).isEqualTo(1L);
        r.tensors.values().forEach(t -> assertThat(t.type()).as(t.name()).isEqualTo(t.ne().length == 1 ? 0 : 1));
        try (SafetensorsFile hf = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            float[] embed = hf.floats("model.embed_tokens.weight");
            float[] half = r.floats("token_embd.weight");
            for (int i = 0; i < embed.length; i += 97) {
                assertThat(half[i]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(embed[i])));
            }
            assertThat(r.floats("blk.0.attn_norm.weight")).containsExactly(hf.floats("model.layers.0.input_layernorm.weight"));
        }
    }

    @Test
    void qwen3HasHeadDimKeysAndQkNorms() {
        Path dir = model(Architecture.QWEN3);
        Path out = tmp.resolve("q3.gguf");
        GgufExporter.exportModel(dir, out, GgufDtype.F32);
        GgufReader r = GgufReader.read(out);
        assertThat(r.<String>get("general.architecture")).isEqualTo("qwen3");
        assertThat(r.<Long>get("qwen3.attention.key_length")).isEqualTo(32L); // not hidden / heads = 16
        assertThat(r.<Long>get("qwen3.attention.value_length")).isEqualTo(32L);
        assertThat(r.<Long>get("qwen3.rope.dimension_count")).isEqualTo(32L);
        assertThat(r.<Float>get("qwen3.rope.freq_base")).isEqualTo(1_000_000f);
        assertThat(r.<Float>get("qwen3.attention.layer_norm_rms_epsilon")).isEqualTo(1e-6f);
        assertThat(r.tensors.get("blk.0.attn_q_norm.weight").ne()).containsExactly(32);
        assertThat(r.tensors.get("blk.0.attn_k_norm.weight").ne()).containsExactly(32);
        assertThat(r.tensors.get("blk.0.attn_q.weight").ne()).containsExactly(64, 128);
        assertThat(r.tensors.get("blk.0.attn_output.weight").ne()).containsExactly(128, 64);
        assertThat(r.tensors).doesNotContainKeys("output.weight", "rope_freqs.weight", "blk.0.attn_q.bias");
        try (SafetensorsFile hf = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertThat(r.floats("blk.0.attn_q.weight")).containsExactly(hf.floats("model.layers.0.self_attn.q_proj.weight"));
        }
    }

    @Test
    void linearRopeScalingIsMetadata() {
        Path dir = model(Architecture.LLAMA2);
        edit(dir.resolve("config.json"), c -> c.putObject("rope_scaling").put("type", "linear").put("factor", 2.0));
        Path out = tmp.resolve("lin.gguf");
        GgufExporter.exportModel(dir, out, GgufDtype.F32);
        GgufReader r = GgufReader.read(out);
        assertThat(r.<String>get("llama.rope.scaling.type")).isEqualTo("linear");
        assertThat(r.<Float>get("llama.rope.scaling.factor")).isEqualTo(2f);
        assertThat(r.tensors).doesNotContainKey("rope_freqs.weight");
    }

    /** Engine weights (here the base model's view) export to the same bytes as the checkpoint they came from. */
    @Test
    void weightsViewExportsLikeTheFolder() throws IOException {
        Path dir = model(Architecture.LLAMA3);
        Path fromFolder = tmp.resolve("a/LLAMA3.gguf");
        Path fromWeights = tmp.resolve("b/LLAMA3.gguf");
        GgufExporter.exportModel(dir, fromFolder, GgufDtype.F16);
        try (LoadedModel loaded = LoadedModel.load("m", dir, Device.cpu(), ComputeType.F32)) {
            GgufExporter.exportModel(loaded.weights(), dir, fromWeights, GgufExportOptions.of(GgufDtype.F16));
        }
        assertThat(Files.readAllBytes(fromWeights)).isEqualTo(Files.readAllBytes(fromFolder));
    }

    // ------------------------------------------------------------------ what cannot be expressed

    private void assertRefused(Path dir, GgufExportOptions options, String... fragments) {
        Path out = tmp.resolve("refused.gguf");
        var thrown = assertThatThrownBy(() -> GgufExporter.exportModel(dir, out, options))
                .isInstanceOf(GgufExportException.class);
        for (String f : fragments) {
            thrown.hasMessageContaining(f);
        }
        assertThat(out).doesNotExist();
        assertThat(tmp.resolve("refused.gguf.tmp")).doesNotExist();
    }

    private void assertRefused(Path dir, String... fragments) {
        assertRefused(dir, GgufExportOptions.of(GgufDtype.F32), fragments);
    }

    @Test
    void refusesTokenizersLlamaCppWouldTokenizeDifferently() {
        Path dir = model(Architecture.LLAMA3);
        Path tokenizer = dir.resolve("tokenizer.json");
        String original;
        try {
            original = Files.readString(tokenizer);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Consumer<ObjectNode>> cases = new LinkedHashMap<>();
        cases.put("WordPiece", t -> ((ObjectNode) t.get("model")).put("type", "WordPiece"));
        cases.put("Unigram", t -> ((ObjectNode) t.get("model")).put("type", "Unigram"));
        cases.put("byte_fallback", t -> ((ObjectNode) t.get("model")).put("byte_fallback", true));
        cases.put("Metaspace", t -> t.putObject("pre_tokenizer").put("type", "Metaspace"));
        cases.put("add_prefix_space", t -> ((ObjectNode) t.get("pre_tokenizer")).put("add_prefix_space", true));
        cases.put("normalizer 'Lowercase'", t -> t.putObject("normalizer").put("type", "Lowercase"));
        cases.put("ignore_merges", t -> ((ObjectNode) t.get("model")).put("ignore_merges", true));
        cases.put("regex", t -> {
            ObjectNode pre = t.putObject("pre_tokenizer").put("type", "Sequence");
            var list = pre.putArray("pretokenizers");
            ObjectNode split = list.addObject().put("type", "Split").put("behavior", "Isolated").put("invert", false);
            split.putObject("pattern").put("Regex", "\\w+|\\s+");
            list.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", false);
        });
        cases.forEach((fragment, change) -> {
            try {
                Files.writeString(tokenizer, original);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            edit(tokenizer, change);
            assertRefused(dir, fragment);
        });
    }

    @Test
    void refusesArchitectureFeaturesLlamaCppLacks() {
        Path mistral = model(Architecture.MISTRAL);
        assertRefused(mistral, "sliding_window 16", "max_position_embeddings 512");

        Path qwen2 = model(Architecture.QWEN2);
        edit(qwen2.resolve("config.json"), c -> c.putObject("rope_scaling").put("rope_type", "llama3")
                .put("factor", 8.0).put("low_freq_factor", 1.0).put("high_freq_factor", 4.0)
                .put("original_max_position_embeddings", 64));
        assertRefused(qwen2, "llama3 rope scaling", "qwen2");

        Path qwen3 = model(Architecture.QWEN3);
        edit(qwen3.resolve("config.json"), c -> c.put("attention_bias", true));
        assertRefused(qwen3, "qwen3", "attention bias");

        ModelConfig gemma = new ModelConfig("gemma", 64, 128, 2, 4, 4, 16, 416, 512, 1e-6, 10000, RopeScaling.NONE,
                true, false, false, false, 0, OptionalInt.empty(), List.of());
        assertThatThrownBy(() -> GgufArchitecture.of(gemma, "config.json"))
                .isInstanceOf(GgufExportException.class).hasMessageContaining("model_type 'gemma'");
    }

    @Test
    void refusesMissingMisshapenAndOverflowingTensors() {
        Path dir = model(Architecture.LLAMA2);
        ModelConfig config = ModelConfig.load(dir);
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            ExportTensors real = ExportTensors.of(file);
            String q = "model.layers.1.self_attn.q_proj.weight";
            Path out = tmp.resolve("bad.gguf");
            ExportTensors missing = wrap(real, name -> !name.equals(q), name -> real.shape(name), real::floats);
            assertThatThrownBy(() -> GgufExporter.exportModel(missing, config, dir, out, GgufExportOptions.of(GgufDtype.F32)))
                    .isInstanceOf(GgufExportException.class).hasMessageContaining(q).hasMessageContaining("missing");
            ExportTensors misshapen = wrap(real, name -> true,
                    name -> name.equals(q) ? new long[] {64, 32} : real.shape(name), real::floats);
            assertThatThrownBy(() -> GgufExporter.exportModel(misshapen, config, dir, out, GgufExportOptions.of(GgufDtype.F32)))
                    .isInstanceOf(GgufExportException.class).hasMessageContaining(q).hasMessageContaining("[64, 32]");
            ExportTensors huge = wrap(real, name -> true, real::shape, name -> {
                float[] v = real.floats(name);
                if (name.equals(q)) {
                    v[3] = 1e6f;
                }
                return v;
            });
            assertThatThrownBy(() -> GgufExporter.exportModel(huge, config, dir, out, GgufExportOptions.of(GgufDtype.F16)))
                    .isInstanceOf(GgufExportException.class).hasMessageContaining(q).hasMessageContaining("F16");
            assertThat(out).doesNotExist();
            GgufExporter.exportModel(huge, config, dir, out, GgufExportOptions.of(GgufDtype.F32)); // fine in F32
            assertThat(out).exists();
        }
    }

    private static ExportTensors wrap(ExportTensors real, java.util.function.Predicate<String> has,
                                      java.util.function.Function<String, long[]> shape,
                                      java.util.function.Function<String, float[]> floats) {
        return new ExportTensors() {
            @Override
            public boolean contains(String name) {
                return has.test(name) && real.contains(name);
            }

            @Override
            public long[] shape(String name) {
                return shape.apply(name);
            }

            @Override
            public float[] floats(String name) {
                return floats.apply(name);
            }
        };
    }

    // ------------------------------------------------------------------ LoRA adapters

    static final List<String> MODULES = List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj");

    @Test
    void loraLayoutAndLlamaPermutationOfB() {
        Path base = model(Architecture.LLAMA3);
        Path adapter = PeftFixtures.writeRandomLora(tmp.resolve("lora"), ModelConfig.load(base), MODULES, 4, 8, 1);
        Path out = tmp.resolve("lora.gguf");
        GgufExportResult result = GgufExporter.exportLora(adapter, base, out, GgufDtype.F32);
        GgufReader r = GgufReader.read(out);
        assertThat(result.tensors()).isEqualTo(2 * 3 * 2);
        assertThat(r.<String>get("general.architecture")).isEqualTo("llama");
        assertThat(r.<String>get("general.type")).isEqualTo("adapter");
        assertThat(r.<String>get("adapter.type")).isEqualTo("lora");
        assertThat(r.<Float>get("adapter.lora.alpha")).isEqualTo(8f);
        assertThat(r.tensors.get("blk.1.attn_q.weight.lora_a").ne()).containsExactly(64, 4); // [in, r]
        assertThat(r.tensors.get("blk.1.attn_q.weight.lora_b").ne()).containsExactly(4, 64); // [r, out]
        assertThat(r.tensors.get("blk.1.attn_k.weight.lora_b").ne()).containsExactly(4, 32);
        try (SafetensorsFile peft = SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
            String p = "base_model.model.model.layers.1.self_attn.";
            assertThat(r.floats("blk.1.attn_q.weight.lora_a")).containsExactly(peft.floats(p + "q_proj.lora_A.weight"));
            assertThat(r.floats("blk.1.attn_v.weight.lora_b")).containsExactly(peft.floats(p + "v_proj.lora_B.weight"));
            assertThat(r.floats("blk.1.attn_q.weight.lora_b"))
                    .containsExactly(GgufArchitecture.interleaveRows(peft.floats(p + "q_proj.lora_B.weight"), 4, 16, 4));
            assertThat(r.floats("blk.1.attn_k.weight.lora_b"))
                    .containsExactly(GgufArchitecture.interleaveRows(peft.floats(p + "k_proj.lora_B.weight"), 2, 16, 4));
        }
    }

    /** llama.cpp scales by alpha/rank; rsLoRA and alpha patterns are folded into B so the delta is PEFT's. */
    @Test
    void loraScalesOtherThanAlphaOverRankAreFoldedIntoB() {
        Path base = model(Architecture.QWEN2);
        Path adapter = PeftFixtures.writeRandomLora(tmp.resolve("lora"), ModelConfig.load(base), MODULES, 4, 8, 2,
                c -> {
                    c.put("use_rslora", true);
                    c.putObject("alpha_pattern").put("v_proj", 16);
                });
        Path out = tmp.resolve("lora.gguf");
        GgufExporter.exportLora(adapter, base, out, GgufDtype.F32);
        GgufReader r = GgufReader.read(out);
        try (SafetensorsFile peft = SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
            String p = "base_model.model.model.layers.0.self_attn.";
            // PEFT scale alpha/sqrt(r) = 8/2 = 4; llama.cpp applies 8/4 = 2 -> B doubled. v: 16/2 = 8 -> x4.
            float[] q = peft.floats(p + "q_proj.lora_B.weight");
            float[] v = peft.floats(p + "v_proj.lora_B.weight");
            float[] gq = r.floats("blk.0.attn_q.weight.lora_b");
            float[] gv = r.floats("blk.0.attn_v.weight.lora_b");
            for (int i = 0; i < q.length; i++) {
                assertThat(gq[i]).isEqualTo(2 * q[i]); // qwen2: rows stay in order
            }
            for (int i = 0; i < v.length; i++) {
                assertThat(gv[i]).isEqualTo(4 * v[i]);
            }
        }
    }

    @Test
    void loraFeaturesLlamaCppCannotApplyAreRefused() throws IOException {
        Path base = model(Architecture.QWEN2);
        ModelConfig config = ModelConfig.load(base);
        Map<String, Consumer<ObjectNode>> configCases = new LinkedHashMap<>();
        configCases.put("use_dora", c -> c.put("use_dora", true));
        configCases.put("modules_to_save", c -> c.putArray("modules_to_save").add("lm_head"));
        configCases.put("fan_in_fan_out", c -> c.put("fan_in_fan_out", true));
        configCases.put("rank 4 but adapter_config.json says 8", c -> c.putObject("rank_pattern").put("q_proj", 8));
        int i = 0;
        for (var e : configCases.entrySet()) {
            Path adapter = PeftFixtures.writeRandomLora(tmp.resolve("bad" + i++), config, MODULES, 4, 8, 3, e.getValue());
            assertThatThrownBy(() -> GgufExporter.exportLora(adapter, base, tmp.resolve("x.gguf"), GgufDtype.F32))
                    .isInstanceOf(GgufExportException.class).hasMessageContaining(e.getKey());
        }
        // Tensors that are not LoRA pairs: a trained bias, an embedding LoRA, a lone lora_A.
        Map<String, String> extras = Map.of(
                "base_model.model.model.layers.0.self_attn.q_proj.bias", "not a lora_A or lora_B",
                "base_model.model.model.embed_tokens.lora_embedding_A", "embedding LoRA");
        for (var e : extras.entrySet()) {
            Path adapter = PeftFixtures.writeRandomLora(tmp.resolve("bad" + i++), config, MODULES, 4, 8, 3);
            addTensor(adapter, e.getKey());
            assertThatThrownBy(() -> GgufExporter.exportLora(adapter, base, tmp.resolve("x.gguf"), GgufDtype.F32))
                    .isInstanceOf(GgufExportException.class).hasMessageContaining(e.getValue());
        }
        Path adapter = PeftFixtures.writeRandomLora(tmp.resolve("bad" + i), config, MODULES, 4, 8, 3);
        addTensor(adapter, "base_model.model.lm_head.lora_A.weight");
        assertThatThrownBy(() -> GgufExporter.exportLora(adapter, base, tmp.resolve("x.gguf"), GgufDtype.F32))
                .isInstanceOf(GgufExportException.class).hasMessageContaining("lm_head");
        assertThat(tmp.resolve("x.gguf")).doesNotExist();
    }

    private static void addTensor(Path adapter, String name) {
        Path file = adapter.resolve("adapter_model.safetensors");
        var tensors = new LinkedHashMap<String, TensorData>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) {
                tensors.put(n, TensorData.ofFloats(f.floats(n), f.info(n).shape()));
            }
        }
        tensors.put(name, TensorData.ofFloats(new float[] {1, 2, 3, 4}, 4, 1));
        SafetensorsWriter.write(file, tensors);
    }
}
