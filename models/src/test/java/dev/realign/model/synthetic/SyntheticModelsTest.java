package dev.realign.model.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.checkpoint.DType;
import dev.realign.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SyntheticModelsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> FILES = List.of(
            "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json");

    @TempDir
    Path dir;

    /** The tensor names and shapes Hugging Face uses for the tiny shape, written out independently of the code. */
    private static Map<String, List<Long>> expectedTensors(Architecture arch) {
        long q = arch == Architecture.QWEN3 ? 4 * 32 : 64;
        long kv = arch == Architecture.LLAMA2 ? 64 : arch == Architecture.QWEN3 ? 2 * 32 : 32;
        Map<String, List<Long>> expected = new LinkedHashMap<>();
        expected.put("model.embed_tokens.weight", List.of(416L, 64L));
        for (int layer = 0; layer < 2; layer++) {
            String p = "model.layers." + layer + ".";
            expected.put(p + "input_layernorm.weight", List.of(64L));
            expected.put(p + "self_attn.q_proj.weight", List.of(q, 64L));
            expected.put(p + "self_attn.k_proj.weight", List.of(kv, 64L));
            expected.put(p + "self_attn.v_proj.weight", List.of(kv, 64L));
            expected.put(p + "self_attn.o_proj.weight", List.of(64L, q));
            if (arch == Architecture.QWEN2) {
                expected.put(p + "self_attn.q_proj.bias", List.of(q));
                expected.put(p + "self_attn.k_proj.bias", List.of(kv));
                expected.put(p + "self_attn.v_proj.bias", List.of(kv));
            }
            if (arch == Architecture.QWEN3) {
                expected.put(p + "self_attn.q_norm.weight", List.of(32L));
                expected.put(p + "self_attn.k_norm.weight", List.of(32L));
            }
            expected.put(p + "post_attention_layernorm.weight", List.of(64L));
            expected.put(p + "mlp.gate_proj.weight", List.of(128L, 64L));
            expected.put(p + "mlp.up_proj.weight", List.of(128L, 64L));
            expected.put(p + "mlp.down_proj.weight", List.of(64L, 128L));
        }
        expected.put("model.norm.weight", List.of(64L));
        if (arch != Architecture.QWEN2 && arch != Architecture.QWEN3) {
            expected.put("lm_head.weight", List.of(416L, 64L));
        }
        return expected;
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void writesTheTensorsHuggingFaceNamesWithTheirShapes(Architecture arch) throws IOException {
        SyntheticModels.write(SyntheticModelSpec.tiny(arch, 7), dir);
        SafetensorsHeader header = SafetensorsHeader.read(dir.resolve("model.safetensors"));

        Map<String, List<Long>> actual = new LinkedHashMap<>();
        header.tensors().forEach((name, t) -> actual.put(name, Arrays.stream(t.shape()).boxed().toList()));
        assertThat(actual).containsExactlyInAnyOrderEntriesOf(expectedTensors(arch));

        long offset = 0;
        for (SafetensorsHeader.Tensor t : header.tensors().values()) {
            assertThat(t.dtype()).isEqualTo("F32");
            assertThat(t.begin()).isEqualTo(offset);
            assertThat(t.end() - t.begin()).isEqualTo(4 * Arrays.stream(t.shape()).reduce(1, Math::multiplyExact));
            offset = t.end();
        }
        assertThat(Files.size(dir.resolve("model.safetensors"))).isEqualTo(header.dataStart() + offset);
        assertThat(SyntheticModelSpec.tiny(arch, 7).parameterCount()).isEqualTo(offset / 4);
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void writesTheConfigOfTheVariant(Architecture arch) throws IOException {
        SyntheticModels.write(SyntheticModelSpec.tiny(arch, 7), dir);
        JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());

        assertThat(config.get("hidden_size").asInt()).isEqualTo(64);
        assertThat(config.get("intermediate_size").asInt()).isEqualTo(128);
        assertThat(config.get("num_hidden_layers").asInt()).isEqualTo(2);
        assertThat(config.get("num_attention_heads").asInt()).isEqualTo(4);
        assertThat(config.get("vocab_size").asInt()).isEqualTo(416);
        assertThat(config.get("hidden_act").asText()).isEqualTo("silu");
        assertThat(config.get("torch_dtype").asText()).isEqualTo("float32");
        assertThat(config.get("bos_token_id").asInt()).isEqualTo(SyntheticModels.tokenizer().bosTokenId());
        assertThat(config.get("eos_token_id").asInt()).isEqualTo(SyntheticModels.tokenizer().eosTokenId());
        assertThat(config.has("rope_scaling")).isTrue();
        switch (arch) {
            case LLAMA2 -> {
                assertThat(config.get("model_type").asText()).isEqualTo("llama");
                assertThat(config.get("architectures").get(0).asText()).isEqualTo("LlamaForCausalLM");
                assertThat(config.get("num_key_value_heads").asInt()).isEqualTo(4);
                assertThat(config.get("rope_theta").asDouble()).isEqualTo(10_000.0);
                assertThat(config.get("rope_scaling").isNull()).isTrue();
                assertThat(config.get("tie_word_embeddings").asBoolean()).isFalse();
            }
            case LLAMA3 -> {
                assertThat(config.get("model_type").asText()).isEqualTo("llama");
                assertThat(config.get("num_key_value_heads").asInt()).isEqualTo(2);
                assertThat(config.get("rope_theta").asDouble()).isEqualTo(500_000.0);
                JsonNode scaling = config.get("rope_scaling");
                assertThat(scaling.get("rope_type").asText()).isEqualTo("llama3");
                assertThat(scaling.get("factor").asDouble()).isEqualTo(8.0);
                assertThat(scaling.get("low_freq_factor").asDouble()).isEqualTo(1.0);
                assertThat(scaling.get("high_freq_factor").asDouble()).isEqualTo(4.0);
                assertThat(scaling.get("original_max_position_embeddings").asInt()).isEqualTo(64);
            }
            case MISTRAL -> {
                assertThat(config.get("model_type").asText()).isEqualTo("mistral");
                assertThat(config.get("architectures").get(0).asText()).isEqualTo("MistralForCausalLM");
                assertThat(config.get("sliding_window").asInt()).isEqualTo(16);
                assertThat(config.get("max_position_embeddings").asInt()).isGreaterThan(16);
            }
            case QWEN2 -> {
                assertThat(config.get("model_type").asText()).isEqualTo("qwen2");
                assertThat(config.get("tie_word_embeddings").asBoolean()).isTrue();
                assertThat(config.get("use_sliding_window").asBoolean()).isFalse();
                assertThat(config.get("attention_bias").asBoolean()).isTrue();
                assertThat(config.get("rms_norm_eps").asDouble()).isEqualTo(1e-6);
            }
            case QWEN3 -> {
                assertThat(config.get("model_type").asText()).isEqualTo("qwen3");
                assertThat(config.get("head_dim").asInt()).isEqualTo(32).isNotEqualTo(64 / 4);
                assertThat(config.get("tie_word_embeddings").asBoolean()).isTrue();
                assertThat(config.get("attention_bias").asBoolean()).isFalse();
            }
        }
        JsonNode generation = JSON.readTree(dir.resolve("generation_config.json").toFile());
        JsonNode eos = generation.get("eos_token_id");
        assertThat(List.of(eos.get(0).asInt(), eos.get(1).asInt())).containsExactly(
                SyntheticModels.tokenizer().eosTokenId(), SyntheticModels.tokenizer().imEndId());
    }

    @Test
    void theModelsTokenizerLoadsAndFitsTheEmbedding() throws IOException {
        SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.QWEN2, 1), dir);
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            int vocab = JSON.readTree(dir.resolve("config.json").toFile()).get("vocab_size").asInt();
            assertThat(tokenizer.vocabSize()).isEqualTo(SyntheticModels.TOKENIZER_BPE_VOCAB + 3).isLessThanOrEqualTo(vocab);
            assertThat(tokenizer.decode(tokenizer.encode("Grüße, 日本語 🎉"))).isEqualTo("Grüße, 日本語 🎉");
        }
    }

    @Test
    void sameSpecGivesByteIdenticalFilesAndAnotherSeedDifferentWeights(@TempDir Path other, @TempDir Path third)
            throws IOException {
        SyntheticModelSpec spec = SyntheticModelSpec.tiny(Architecture.LLAMA3, 42);
        SyntheticModels.write(spec, dir);
        SyntheticModels.write(spec, other);
        for (String file : FILES) {
            assertThat(Files.mismatch(dir.resolve(file), other.resolve(file))).as(file).isEqualTo(-1L);
        }
        SyntheticModels.write(spec.withSeed(43), third);
        assertThat(Files.mismatch(dir.resolve("model.safetensors"), third.resolve("model.safetensors"))).isNotEqualTo(-1L);
        assertThat(Files.mismatch(dir.resolve("config.json"), third.resolve("config.json"))).isEqualTo(-1L);
    }

    @Test
    void weightsAreScaledAndNormsAreNearOneButNotOne() throws IOException {
        SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.QWEN3, 3), dir);
        SafetensorsHeader header = SafetensorsHeader.read(dir.resolve("model.safetensors"));

        float[] norm = header.floats("model.layers.0.input_layernorm.weight");
        assertThat(mean(norm)).isCloseTo(1.0, within(0.05));
        assertThat(std(norm)).isBetween(0.05, 0.2);
        float[] qNorm = header.floats("model.layers.1.self_attn.q_norm.weight");
        assertThat(qNorm).isNotEqualTo(header.floats("model.layers.1.self_attn.k_norm.weight"));
        float[] gate = header.floats("model.layers.0.mlp.gate_proj.weight");
        assertThat(mean(gate)).isCloseTo(0.0, within(0.01));
        assertThat(std(gate)).isCloseTo(1.0 / Math.sqrt(64), within(0.01));
    }

    @Test
    void halfPrecisionModelsHoldTheSameValuesRounded(@TempDir Path f16, @TempDir Path bf16) throws IOException {
        SyntheticModelSpec spec = SyntheticModelSpec.tiny(Architecture.MISTRAL, 5);
        SyntheticModels.write(spec, dir);
        SyntheticModels.write(spec.withDtype(DType.F16), f16);
        SyntheticModels.write(spec.withDtype(DType.BF16), bf16);
        String name = "model.layers.1.self_attn.k_proj.weight";

        float[] exact = SafetensorsHeader.read(dir.resolve("model.safetensors")).floats(name);
        SafetensorsHeader halfHeader = SafetensorsHeader.read(f16.resolve("model.safetensors"));
        SafetensorsHeader bfloatHeader = SafetensorsHeader.read(bf16.resolve("model.safetensors"));
        assertThat(halfHeader.tensors().get(name).dtype()).isEqualTo("F16");
        assertThat(bfloatHeader.tensors().get(name).dtype()).isEqualTo("BF16");
        float[] half = halfHeader.floats(name);
        float[] bfloat = bfloatHeader.floats(name);
        for (int i = 0; i < exact.length; i++) {
            assertThat(half[i]).isCloseTo(exact[i], within(Math.abs(exact[i]) / 1024 + 1e-7f));
            assertThat(bfloat[i]).isCloseTo(exact[i], within(Math.abs(exact[i]) / 128));
        }
        assertThat(JSON.readTree(bf16.resolve("config.json").toFile()).get("torch_dtype").asText()).isEqualTo("bfloat16");
        assertThat(JSON.readTree(f16.resolve("config.json").toFile()).get("torch_dtype").asText()).isEqualTo("float16");
    }

    @Test
    void benchmarkShapeIsA415MParameterLlamaWhoseTensorsEachFitABuffer() {
        SyntheticModelSpec spec = SyntheticModelSpec.benchmarkShape();
        assertThat(spec.parameterCount()).isBetween(410_000_000L, 420_000_000L);
        assertThat(SyntheticModels.layout(spec)).allSatisfy(entry -> assertThat(entry.byteSize()).isLessThan(Integer.MAX_VALUE));
        assertThat(SyntheticModels.layout(spec).stream().mapToLong(e -> e.byteSize()).sum()).isEqualTo(4 * spec.parameterCount());
    }

    @Test
    void invalidShapesAreRejected() {
        assertThatThrownBy(() -> new SyntheticModelSpec(Architecture.LLAMA2, 64, 2, 4, 2, null, 128, 416, 512, DType.F32, 0))
                .hasMessageContaining("LLAMA2");
        assertThatThrownBy(() -> new SyntheticModelSpec(Architecture.LLAMA3, 64, 2, 4, 3, null, 128, 416, 512, DType.F32, 0))
                .hasMessageContaining("kvHeads");
        assertThatThrownBy(() -> new SyntheticModelSpec(Architecture.LLAMA3, 64, 2, 4, 2, null, 128, 416, 512, DType.I8, 0))
                .hasMessageContaining("dtype");
        SyntheticModelSpec tooSmallVocab = new SyntheticModelSpec(Architecture.LLAMA3, 64, 2, 4, 2, null, 128, 300, 512, DType.F32, 0);
        assertThatThrownBy(() -> SyntheticModels.write(tooSmallVocab, dir)).hasMessageContaining("vocabSize 300");
    }

    private static double mean(float[] values) {
        double sum = 0;
        for (float v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    private static double std(float[] values) {
        double m = mean(values);
        double sum = 0;
        for (float v : values) {
            sum += (v - m) * (v - m);
        }
        return Math.sqrt(sum / values.length);
    }
}
