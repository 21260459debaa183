package dev.realign.merge;

import static dev.realign.merge.LoraTestFixtures.DOWN0;
import static dev.realign.merge.LoraTestFixtures.JSON;
import static dev.realign.merge.LoraTestFixtures.Q0;
import static dev.realign.merge.LoraTestFixtures.V1;
import static dev.realign.merge.LoraTestFixtures.assertClose;
import static dev.realign.merge.LoraTestFixtures.random;
import static dev.realign.merge.LoraTestFixtures.reference;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.realign.checkpoint.SafetensorsFile;
import dev.realign.model.LoadedModel;
import dev.realign.model.TensorLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writing PEFT adapters: the files PEFT expects, and a lossless round trip through PeftLoraAdapter. */
class PeftLoraWriterTest {
    @TempDir
    static Path shared;
    static LoadedModel base;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadBase() {
        base = LoraTestFixtures.loadTinyBase(shared.resolve("base"), 11);
    }

    @AfterAll
    static void closeBase() {
        base.close();
    }

    private static PeftLoraWriter.Module module(NDManager m, String module, int out, int in, int r, double alpha,
            long seed) {
        var random = new SplittableRandom(seed);
        NDArray a = m.create(random(random, r * in, 0.1), new Shape(r, in));
        NDArray b = m.create(random(random, out * r, 0.1), new Shape(out, r));
        return new PeftLoraWriter.Module(module + ".weight", a, b, alpha);
    }

    @Test
    void anAdapterRoundTripsWithRankAndAlphaPatternsAndAReplacement() throws IOException {
        try (NDManager m = base.manager().newSubManager()) {
            List<PeftLoraWriter.Module> modules = List.of(
                    module(m, V1, 32, 64, 2, 8, 1),
                    module(m, Q0, 64, 64, 4, 8, 2),
                    module(m, DOWN0, 64, 128, 4, 3, 3));
            NDArray head = m.create(random(new SplittableRandom(4), 416 * 64, 0.05), new Shape(416, 64));
            SequencedMap<String, NDArray> replacements = new LinkedHashMap<>();
            replacements.put(TensorLayout.LM_HEAD, head);
            Path adapter = dir.resolve("adapter");
            PeftLoraWriter.write(adapter, "tiny-base", modules, replacements);

            JsonNode config = JSON.readTree(Files.readString(adapter.resolve("adapter_config.json")));
            assertThat(config.get("peft_type").asText()).isEqualTo("LORA");
            assertThat(config.get("task_type").asText()).isEqualTo("CAUSAL_LM");
            assertThat(config.get("base_model_name_or_path").asText()).isEqualTo("tiny-base");
            assertThat(config.get("r").asInt()).isEqualTo(4);
            assertThat(config.get("lora_alpha").isIntegralNumber()).isTrue();
            assertThat(config.get("lora_alpha").asInt()).isEqualTo(8);
            assertThat(config.get("use_rslora").asBoolean()).isFalse();
            assertThat(config.get("fan_in_fan_out").asBoolean()).isFalse();
            assertThat(config.get("bias").asText()).isEqualTo("none");
            assertThat(config.get("target_modules").toString()).isEqualTo("[\"down_proj\",\"q_proj\",\"v_proj\"]");
            assertThat(config.get("modules_to_save").toString()).isEqualTo("[\"lm_head\"]");
            assertThat(config.get("rank_pattern").toString()).isEqualTo("{\"" + V1 + "\":2}");
            assertThat(config.get("alpha_pattern").toString()).isEqualTo("{\"" + DOWN0 + "\":3}");
            try (SafetensorsFile file = SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
                assertThat(file.names()).containsExactly(
                        "base_model.model." + DOWN0 + ".lora_A.weight", "base_model.model." + DOWN0 + ".lora_B.weight",
                        "base_model.model." + Q0 + ".lora_A.weight", "base_model.model." + Q0 + ".lora_B.weight",
                        "base_model.model." + V1 + ".lora_A.weight", "base_model.model." + V1 + ".lora_B.weight",
                        "base_model.model.lm_head.weight");
                assertThat(file.metadata()).containsEntry("format", "pt");
            }

            try (PeftLoraAdapter read = PeftLoraAdapter.load("w", adapter, base.config(), base.weights(), base.manager())) {
                assertThat(read.targets()).containsExactly(Q0 + ".weight", DOWN0 + ".weight", V1 + ".weight",
                        TensorLayout.LM_HEAD);
                for (PeftLoraWriter.Module written : modules) {
                    LoraFactors f = read.lora(written.target()).orElseThrow();
                    assertThat(f.a().toFloatArray()).containsExactly(written.a().toFloatArray());
                    assertThat(f.b().toFloatArray()).containsExactly(written.b().toFloatArray());
                    assertThat((double) f.scale()).isEqualTo(written.alpha() / written.rank(), within(1e-7));
                    long[] shape = written.b().getShape().getShape();
                    int out = (int) shape[0];
                    int in = (int) written.a().getShape().get(1);
                    assertClose(read.delta(written.target(), m), reference(written.a().toFloatArray(),
                            written.b().toFloatArray(), out, written.rank(), in, written.alpha() / written.rank()), 1e-5);
                }
                float[] baseHead = base.weights().tensor(TensorLayout.LM_HEAD).toFloatArray();
                float[] newHead = head.toFloatArray();
                double[] expected = new double[newHead.length];
                for (int i = 0; i < expected.length; i++) {
                    expected[i] = (double) newHead[i] - baseHead[i];
                }
                assertClose(read.delta(TensorLayout.LM_HEAD, m), expected, 1e-6);
            }
        }
    }

    @Test
    void theWriterRefusesContradictions() {
        try (NDManager m = base.manager().newSubManager()) {
            var q = module(m, Q0, 64, 64, 4, 8, 2);
            assertThatThrownBy(() -> PeftLoraWriter.write(dir, "b", List.of(q, q), new LinkedHashMap<>()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
            SequencedMap<String, NDArray> both = new LinkedHashMap<>();
            both.put(Q0 + ".weight", m.zeros(new Shape(64, 64)));
            assertThatThrownBy(() -> PeftLoraWriter.write(dir, "b", List.of(q), both))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("both");
            assertThatThrownBy(() -> new PeftLoraWriter.Module(Q0 + ".weight", m.zeros(new Shape(4, 64)),
                    m.zeros(new Shape(64, 3)), 8)).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
