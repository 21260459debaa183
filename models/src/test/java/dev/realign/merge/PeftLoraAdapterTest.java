package dev.realign.merge;

import static dev.realign.merge.LoraTestFixtures.DOWN0;
import static dev.realign.merge.LoraTestFixtures.Q0;
import static dev.realign.merge.LoraTestFixtures.V1;
import static dev.realign.merge.LoraTestFixtures.assertClose;
import static dev.realign.merge.LoraTestFixtures.config;
import static dev.realign.merge.LoraTestFixtures.loraName;
import static dev.realign.merge.LoraTestFixtures.random;
import static dev.realign.merge.LoraTestFixtures.reference;
import static dev.realign.merge.LoraTestFixtures.writeAdapter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.checkpoint.CheckpointException;
import dev.realign.checkpoint.TensorData;
import dev.realign.model.LoadedModel;
import dev.realign.model.TensorLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading PEFT LoRA adapters: deltas against an independent reference, PEFT's config rules, and refusals. */
class PeftLoraAdapterTest {
    @TempDir
    static Path shared;
    static LoadedModel base;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadBase() {
        base = LoraTestFixtures.loadTinyBase(shared.resolve("base"), 7);
    }

    @AfterAll
    static void closeBase() {
        base.close();
    }

    /** A hand-made adapter: random A and B per module, in the given rank. */
    record Factor(String module, int out, int in, int r, float[] a, float[] b) {}

    static Factor factor(String module, int out, int in, int r, long seed) {
        var random = new SplittableRandom(seed);
        return new Factor(module, out, in, r, random(random, r * in, 0.1), random(random, out * r, 0.1));
    }

    static SequencedMap<String, TensorData> tensors(Factor... factors) {
        SequencedMap<String, TensorData> t = new LinkedHashMap<>();
        for (Factor f : factors) {
            t.put(loraName(f.module(), "A"), TensorData.ofFloats(f.a(), f.r(), f.in()));
            t.put(loraName(f.module(), "B"), TensorData.ofFloats(f.b(), f.out(), f.r()));
        }
        return t;
    }

    private PeftLoraAdapter load(Path adapter) {
        return PeftLoraAdapter.load("a", adapter, base.config(), base.weights(), base.manager());
    }

    private static void assertDelta(DeltaSource adapter, Factor f, double scale) {
        try (NDManager m = base.manager().newSubManager()) {
            NDArray delta = adapter.delta(f.module() + ".weight", m);
            assertThat(delta.getShape().getShape()).containsExactly(f.out(), f.in());
            assertClose(delta, reference(f.a(), f.b(), f.out(), f.r(), f.in(), scale), 1e-5);
        }
    }

    @Test
    void theDeltaIsScaleTimesBA() {
        Factor q = factor(Q0, 64, 64, 4, 1);
        Factor v = factor(V1, 32, 64, 4, 2);
        Factor down = factor(DOWN0, 64, 128, 4, 3);
        Path adapter = dir.resolve("a");
        // File order differs from the base's order on purpose.
        writeAdapter(adapter, config(4, 8, List.of("q_proj", "v_proj", "down_proj")), tensors(v, down, q));
        try (PeftLoraAdapter a = load(adapter)) {
            assertThat(a.kind()).isEqualTo(AdapterKind.LORA);
            assertThat(a.targets()).containsExactly(Q0 + ".weight", DOWN0 + ".weight", V1 + ".weight");
            assertThat(a.rank()).isEqualTo(4);
            assertThat(a.sizeBytes()).isEqualTo(4L * 4 * (64 + 64 + 64 + 32 + 128 + 64));
            for (Factor f : List.of(q, v, down)) {
                assertDelta(a, f, 2.0);
                LoraFactors factors = a.lora(f.module() + ".weight").orElseThrow();
                assertThat(factors.scale()).isEqualTo(2.0f);
                assertThat(factors.rank()).isEqualTo(4);
                assertThat(factors.a().toFloatArray()).containsExactly(f.a());
                assertThat(factors.b().toFloatArray()).containsExactly(f.b());
            }
            assertThatThrownBy(() -> a.delta(TensorLayout.EMBED, base.manager()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(TensorLayout.EMBED);
        }
    }

    @Test
    void rsLoraScalesByTheSquareRootOfTheRank() {
        Factor q = factor(Q0, 64, 64, 4, 1);
        Path adapter = dir.resolve("a");
        var c = config(4, 8, List.of("q_proj"));
        c.put("use_rslora", true);
        writeAdapter(adapter, c, tensors(q));
        try (PeftLoraAdapter a = load(adapter)) {
            assertThat(a.lora(Q0 + ".weight").orElseThrow().scale()).isEqualTo(4.0f); // 8 / sqrt(4)
            assertDelta(a, q, 4.0);
        }
    }

    @Test
    void rankAndAlphaPatternsMatchModuleSuffixesFirstKeyFirst() {
        Factor q0 = factor(Q0, 64, 64, 3, 1);
        Factor q1 = factor("model.layers.1.self_attn.q_proj", 64, 64, 2, 2);
        Factor v1 = factor(V1, 32, 64, 6, 3);
        Factor down0 = factor(DOWN0, 64, 128, 4, 4);
        Path adapter = dir.resolve("a");
        var c = config(4, 8, List.of("q_proj", "v_proj", "down_proj"));
        Map<String, Object> ranks = new LinkedHashMap<>();
        ranks.put("model.layers.1.self_attn.q_proj", 2); // first key wins for layer 1
        ranks.put("q_proj", 3);                          // a suffix after a dot: every other q_proj
        ranks.put("v_proj", 6);
        ranks.put("proj", 16);                           // not a dot-separated suffix of any module: unused
        c.put("rank_pattern", ranks);
        c.put("alpha_pattern", Map.of("layers\\.0\\.mlp\\.down_proj", 3));
        writeAdapter(adapter, c, tensors(q0, q1, v1, down0));
        try (PeftLoraAdapter a = load(adapter)) {
            assertThat(a.rank()).isEqualTo(6);
            assertDelta(a, q0, 8.0 / 3);
            assertDelta(a, q1, 8.0 / 2);
            assertDelta(a, v1, 8.0 / 6);
            assertDelta(a, down0, 3.0 / 4);
            assertThat(a.alpha(DOWN0 + ".weight")).contains(3.0);
        }
    }

    @Test
    void aRankThatContradictsTheConfigNamesThePatternKey() {
        Path adapter = dir.resolve("a");
        var c = config(4, 8, List.of("q_proj"));
        c.put("rank_pattern", Map.of("layers.0.self_attn.q_proj", 2));
        writeAdapter(adapter, c, tensors(factor(Q0, 64, 64, 4, 1)));
        assertThatThrownBy(() -> load(adapter)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(loraName(Q0, "A")).hasMessageContaining("rank 4")
                .hasMessageContaining("r=2").hasMessageContaining("rank_pattern key 'layers.0.self_attn.q_proj'");
    }

    @Test
    void fanInFanOutDoesNotTransposeNnLinearProjectionsAsInPeft() {
        Factor o = factor("model.layers.0.self_attn.o_proj", 64, 64, 4, 5);
        Factor up = factor("model.layers.1.mlp.up_proj", 128, 64, 4, 6);
        Path plain = dir.resolve("plain");
        Path flagged = dir.resolve("flagged");
        writeAdapter(plain, config(4, 4, List.of("o_proj", "up_proj")), tensors(o, up));
        var c = config(4, 4, List.of("o_proj", "up_proj"));
        c.put("fan_in_fan_out", true);
        writeAdapter(flagged, c, tensors(o, up));
        try (PeftLoraAdapter a = load(plain); PeftLoraAdapter b = load(flagged)) {
            assertDelta(b, o, 1.0);
            assertDelta(b, up, 1.0); // (128, 64) = (out, in): the base's orientation, not transposed
            assertThat(b.contentHash()).isEqualTo(a.contentHash());
        }
    }

    @Test
    void modulesToSaveReplaceTheBaseTensorWhole() {
        var random = new SplittableRandom(9);
        float[] head = random(random, 416 * 64, 0.05);
        float[] norm = random(random, 64, 1.0);
        Factor q = factor(Q0, 64, 64, 4, 1);
        for (String form : List.of("base_model.model.lm_head.weight", "base_model.model.lm_head.modules_to_save.weight",
                "base_model.model.lm_head.modules_to_save.default.weight")) {
            Path adapter = dir.resolve("a" + form.length());
            var c = config(4, 8, List.of("q_proj"));
            c.put("modules_to_save", List.of("lm_head"));
            SequencedMap<String, TensorData> t = tensors(q);
            t.put(form, TensorData.ofFloats(head, 416, 64));
            t.put("base_model.model.model.norm.weight", TensorData.ofFloats(norm, 64));
            writeAdapter(adapter, c, t);
            try (PeftLoraAdapter a = load(adapter); NDManager m = base.manager().newSubManager()) {
                assertThat(a.targets()).containsExactly(Q0 + ".weight", TensorLayout.FINAL_NORM, TensorLayout.LM_HEAD);
                assertThat(a.lora(TensorLayout.LM_HEAD)).isEmpty();
                assertThat(a.rank()).isEqualTo(4);
                float[] baseHead = base.weights().tensor(TensorLayout.LM_HEAD).toFloatArray();
                double[] expected = new double[head.length];
                for (int i = 0; i < head.length; i++) {
                    expected[i] = (double) head[i] - baseHead[i];
                }
                assertClose(a.delta(TensorLayout.LM_HEAD, m), expected, 1e-6);
                float[] baseNorm = base.weights().tensor(TensorLayout.FINAL_NORM).toFloatArray();
                double[] expectedNorm = new double[64];
                for (int i = 0; i < 64; i++) {
                    expectedNorm[i] = (double) norm[i] - baseNorm[i];
                }
                assertClose(a.delta(TensorLayout.FINAL_NORM, m), expectedNorm, 1e-6);
            }
        }
    }

    @Test
    void theContentHashIsStableAcrossReloadsAndNamingAndChangesWithAnyByte() {
        Factor q = factor(Q0, 64, 64, 4, 1);
        Factor v = factor(V1, 32, 64, 4, 2);
        Path first = dir.resolve("first");
        writeAdapter(first, config(4, 8, List.of("q_proj", "v_proj")), tensors(q, v));
        // The same content with PEFT's ".default" names, in another order.
        Path renamed = dir.resolve("renamed");
        SequencedMap<String, TensorData> t = new LinkedHashMap<>();
        tensors(v, q).forEach((name, data) -> t.put(name.replace(".weight", ".default.weight"), data));
        writeAdapter(renamed, config(4, 8, List.of("q_proj", "v_proj")), t);
        // One bit of one element of one B flipped.
        float[] b = v.b().clone();
        b[17] = Float.intBitsToFloat(Float.floatToRawIntBits(b[17]) ^ 1);
        Path changed = dir.resolve("changed");
        writeAdapter(changed, config(4, 8, List.of("q_proj", "v_proj")),
                tensors(q, new Factor(v.module(), v.out(), v.in(), v.r(), v.a(), b)));
        Path otherAlpha = dir.resolve("alpha");
        writeAdapter(otherAlpha, config(4, 16, List.of("q_proj", "v_proj")), tensors(q, v));
        String hash;
        try (PeftLoraAdapter a = load(first)) {
            hash = a.contentHash();
            assertThat(hash).matches("[0-9a-f]{64}");
        }
        try (PeftLoraAdapter again = load(first); PeftLoraAdapter r = load(renamed); PeftLoraAdapter c = load(changed);
                PeftLoraAdapter alpha = load(otherAlpha)) {
            assertThat(again.contentHash()).isEqualTo(hash);
            assertThat(r.contentHash()).isEqualTo(hash);
            assertThat(c.contentHash()).isNotEqualTo(hash);
            assertThat(alpha.contentHash()).isNotEqualTo(hash);
        }
    }

    @Test
    void anAdapterForAnotherBaseIsRefusedNamingTheTensorAndBothShapes() {
        // q_proj of a base with hidden size 32.
        Path adapter = dir.resolve("a");
        writeAdapter(adapter, config(4, 8, List.of("q_proj")), tensors(factor(Q0, 32, 32, 4, 1)));
        assertThatThrownBy(() -> load(adapter)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("adapter_model.safetensors").hasMessageContaining(loraName(Q0, "A"))
                .hasMessageContaining("[4, 32]").hasMessageContaining("[32, 4]").hasMessageContaining("[64, 64]");
    }

    @Test
    void aNanIsRefusedNamingTheTensor() {
        Factor q = factor(Q0, 64, 64, 4, 1);
        q.b()[100] = Float.NaN;
        Path adapter = dir.resolve("a");
        writeAdapter(adapter, config(4, 8, List.of("q_proj")), tensors(q));
        assertThatThrownBy(() -> load(adapter)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(loraName(Q0, "B")).hasMessageContaining("NaN").hasMessageContaining("element 100");
    }

    @Test
    void doraIsUnsupported() {
        Path adapter = dir.resolve("a");
        var c = config(4, 8, List.of("q_proj"));
        c.put("use_dora", true);
        writeAdapter(adapter, c, tensors(factor(Q0, 64, 64, 4, 1)));
        assertThatThrownBy(() -> load(adapter)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("adapter_config.json").hasMessageContaining("DoRA");
    }

    @Test
    void aMissingBIsRefused() {
        Path adapter = dir.resolve("a");
        SequencedMap<String, TensorData> t = tensors(factor(Q0, 64, 64, 4, 1), factor(V1, 32, 64, 4, 2));
        t.remove(loraName(V1, "B"));
        writeAdapter(adapter, config(4, 8, List.of("q_proj", "v_proj")), t);
        assertThatThrownBy(() -> load(adapter)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(loraName(V1, "A")).hasMessageContaining("no matching lora_B");
    }

    @Test
    void unknownModulesAndNamesAreRefused() {
        Path adapter = dir.resolve("a");
        writeAdapter(adapter, config(4, 8, List.of("x_proj")),
                tensors(factor("model.layers.0.self_attn.x_proj", 64, 64, 4, 1)));
        assertThatThrownBy(() -> load(adapter)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(loraName("model.layers.0.self_attn.x_proj", "A"))
                .hasMessageContaining("no tensor 'model.layers.0.self_attn.x_proj.weight'");

        Path beyond = dir.resolve("beyond");
        writeAdapter(beyond, config(4, 8, List.of("q_proj")),
                tensors(factor("model.layers.2.self_attn.q_proj", 64, 64, 4, 1)));
        assertThatThrownBy(() -> load(beyond)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model.layers.2.self_attn.q_proj").hasMessageContaining("2 layers");

        Path odd = dir.resolve("odd");
        SequencedMap<String, TensorData> t = tensors(factor(Q0, 64, 64, 4, 1));
        t.put("base_model.model.model.layers.0.self_attn.q_proj.lora_C.weight", TensorData.ofFloats(new float[4], 4));
        writeAdapter(odd, config(4, 8, List.of("q_proj")), t);
        assertThatThrownBy(() -> load(odd)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("lora_C").hasMessageContaining("unknown adapter tensor");

        Path norm = dir.resolve("norm");
        writeAdapter(norm, config(4, 8, List.of("input_layernorm")),
                tensors(factor("model.layers.0.input_layernorm", 64, 64, 4, 1)));
        assertThatThrownBy(() -> load(norm)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model.layers.0.input_layernorm").hasMessageContaining("not a Linear layer");
    }

    @Test
    void loraTensorsForAModuleTheConfigDoesNotSelectAreRefused() {
        Path adapter = dir.resolve("a");
        writeAdapter(adapter, config(4, 8, List.of("q_proj")), tensors(factor(Q0, 64, 64, 4, 1), factor(V1, 32, 64, 4, 2)));
        assertThatThrownBy(() -> load(adapter)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(loraName(V1, "A")).hasMessageContaining("does not select");

        Path regex = dir.resolve("regex");
        writeAdapter(regex, config(4, 8, ".*\\.layers\\.0\\..*_proj"), tensors(factor(Q0, 64, 64, 4, 1), factor(V1, 32, 64, 4, 2)));
        assertThatThrownBy(() -> load(regex)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(loraName(V1, "A"));

        Path layers = dir.resolve("layers");
        var c = config(4, 8, List.of("q_proj", "v_proj"));
        c.put("layers_to_transform", List.of(1));
        writeAdapter(layers, c, tensors(factor(Q0, 64, 64, 4, 1), factor(V1, 32, 64, 4, 2)));
        assertThatThrownBy(() -> load(layers)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(loraName(Q0, "A"));

        Path allLinear = dir.resolve("all-linear");
        writeAdapter(allLinear, config(4, 8, "all-linear"), tensors(factor(Q0, 64, 64, 4, 1), factor(V1, 32, 64, 4, 2)));
        try (PeftLoraAdapter a = load(allLinear)) {
            assertThat(a.targets()).hasSize(2);
        }
    }

    @Test
    void unsupportedConfigsAreRefusedNamingTheField() {
        Map<String, Object[]> cases = new LinkedHashMap<>();
        cases.put("bias='all'", new Object[] {"bias", "all"});
        cases.put("only LORA", new Object[] {"peft_type", "IA3"});
        cases.put("path_initial_model_for_weight_conversion", new Object[] {"init_lora_weights", "pissa_niter_4"});
        cases.put("lora_bias", new Object[] {"lora_bias", true});
        cases.put("trainable_token_indices", new Object[] {"trainable_token_indices", List.of(3, 4)});
        for (var e : cases.entrySet()) {
            Path adapter = dir.resolve("a" + e.getKey().hashCode());
            var c = config(4, 8, List.of("q_proj"));
            c.put((String) e.getValue()[0], e.getValue()[1]);
            writeAdapter(adapter, c, tensors(factor(Q0, 64, 64, 4, 1)));
            assertThatThrownBy(() -> load(adapter)).as(e.getKey()).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("adapter_config.json").hasMessageContaining(e.getKey());
        }
    }

    @Test
    void aReplacementOfALoraWrappedModuleIsRefused() {
        Path adapter = dir.resolve("a");
        SequencedMap<String, TensorData> t = tensors(factor(Q0, 64, 64, 4, 1));
        t.put("base_model.model." + V1 + ".weight", TensorData.ofFloats(new float[32 * 64], 32, 64));
        writeAdapter(adapter, config(4, 8, List.of("q_proj", "v_proj")), t);
        assertThatThrownBy(() -> load(adapter)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("base_model.model." + V1 + ".weight").hasMessageContaining("PEFT would not load");
    }

    @Test
    void closingFreesTheFactorsAndRefusesFurtherUse() {
        Path adapter = dir.resolve("a");
        writeAdapter(adapter, config(4, 8, List.of("q_proj")), tensors(factor(Q0, 64, 64, 4, 1)));
        PeftLoraAdapter a = load(adapter);
        NDArray factorA = a.lora(Q0 + ".weight").orElseThrow().a();
        a.close();
        a.close();
        assertThat(factorA.isReleased()).isTrue();
        assertThatThrownBy(() -> a.delta(Q0 + ".weight", base.manager())).isInstanceOf(IllegalStateException.class);
    }
}
