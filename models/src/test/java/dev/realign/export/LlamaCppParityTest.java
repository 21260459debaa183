package dev.realign.export;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.realign.llamacpp.GreedyParity;
import dev.realign.llamacpp.GreedyParity.Continuation;
import dev.realign.llamacpp.LlamaCpp;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.Weights;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * llama.cpp as the referee: random models of each family are exported to GGUF, loaded in llama.cpp
 * (b4916 through {@code de.kherud:llama}) and must tokenize and continue greedily exactly as our engine does.
 *
 * <p><b>Margins.</b> The engines agree to fp32 rounding, not bit for bit, so a greedy step whose top two
 * logits are nearly tied may go either way in a correct engine. Each case's seed was picked so that every
 * step of every prompt's continuation has a top-1/top-2 log-probability gap of at least
 * {@link GreedyParity#MIN_MARGIN} (the smallest gaps actually seen are printed after the class runs, and a
 * case whose gap falls below the bound fails as "pick another seed", not as a parity failure). A wrong q/k
 * permutation, RoPE factor, bias, norm or tensor name changes tokens within the first few steps.
 *
 * <p><b>Comparison.</b> The binding returns only text, so our tokens are rendered as llama.cpp renders them
 * ({@link GreedyParity.TokenTable}); at least 32 generated tokens are compared per prompt.
 */
class LlamaCppParityTest {
    static final int TOKENS = 40;
    static final int MIN_COMPARED = 32;
    static final ObjectMapper JSON = new ObjectMapper();

    /** Prompts of the greedy comparisons: ASCII, a ChatML turn with special tokens, non-ASCII. */
    static final List<String> PROMPTS = List.of(
            "The quick brown fox",
            "Once upon a time",
            "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            "Grüße aus Köln — 東京 🙂");

    /** Tokenization cases: whitespace runs, contractions, digits, scripts, emoji, special tokens inside text. */
    static final List<String> TEXTS = List.of(
            "Hello world",
            " Hello  world   ",
            "don't I'LL we've they'D",
            "x = 12345678 + 3.14159; // done",
            "tabs\tand\nnewlines\r\n\n  indented",
            "naïve café résumé Ångström",
            "Привет, мир! Ελληνικά. עברית. العربية",
            "東京都は日本の首都です。한국어 텍스트",
            "emoji 🙂👍🏽 family 👨‍👩‍👧 flags 🇩🇪",
            "combining e\u0301 and a\u0308, zero\u200Bwidth, nbsp\u00A0here, ideographic\u3000space",
            "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>",
            "text<|endoftext|>more text",
            "<|im_end|><|im_start|>",
            "   ",
            "\n\n\n",
            "a",
            "");

    /**
     * @param seed     the model's seed
     * @param edit     changes to the written model folder (config fields, extra tensors)
     * @param loraSeed the random LoRA's seed in the adapter test (picked like the model seeds: margins, and
     *                 continuations of at least 32 tokens at ratios 1 and 0.5)
     */
    record Case(String name, Architecture arch, long seed, long loraSeed, Consumer<Path> edit,
                GgufExportOptions options) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                // GQA (4 heads, 2 kv heads) with llama3 rope scaling: exercises the q/k permutation and rope_freqs.
                new Case("llama3-gqa-rope-scaling", Architecture.LLAMA3, 8, 101, d -> {}, GgufExportOptions.of(GgufDtype.F32)),
                // q/k/v biases and tied embeddings (no output.weight).
                new Case("qwen2-bias-tied", Architecture.QWEN2, 4, 111, d -> {}, GgufExportOptions.of(GgufDtype.F32)),
                // multi-head attention, plain RoPE.
                new Case("llama2-mha", Architecture.LLAMA2, 3, 0, d -> {}, GgufExportOptions.of(GgufDtype.F32)),
                // Llama with attention_bias: q/k biases interleaved like their rows, an o_proj bias.
                new Case("llama-attention-bias", Architecture.LLAMA2, 8, 0, LlamaCppParityTest::addAttentionBiases,
                        GgufExportOptions.of(GgufDtype.F32)),
                // model_type mistral without a window (as Mistral 7B v0.2+), loaded by llama.cpp as llama.
                new Case("mistral-no-window", Architecture.MISTRAL, 3, 0,
                        d -> editConfig(d, c -> c.putNull("sliding_window")),
                        GgufExportOptions.of(GgufDtype.F32)));
    }

    @TempDir
    static Path tmp;

    /** Smallest top-1/top-2 gap along our greedy continuations, per case and prompt. */
    static final Map<String, Double> MARGINS = new TreeMap<>();

    @BeforeAll
    static void oneTorchThread() {
        // Tiny models: more intra-op threads only add barriers (see EngineParityTest).
        if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_threads", "1");
        }
    }

    @AfterAll
    static void report() {
        MARGINS.forEach((k, v) -> System.out.printf("llama.cpp parity %-60s min top-2 margin %.4f%n", k, v));
    }

    static Path model(Case c) {
        Path dir = tmp.resolve(c.name());
        if (!Files.exists(dir.resolve("config.json"))) {
            SyntheticModels.write(SyntheticModelSpec.tiny(c.arch(), c.seed()), dir);
            c.edit().accept(dir);
        }
        return dir;
    }

    static void editConfig(Path dir, Consumer<ObjectNode> edit) {
        try {
            ObjectNode config = (ObjectNode) JSON.readTree(Files.readString(dir.resolve("config.json")));
            edit.accept(config);
            Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Adds random q/k/v/o biases (std 0.5, as SyntheticModels draws biases) and sets attention_bias. */
    static void addAttentionBiases(Path dir) {
        Path file = dir.resolve("model.safetensors");
        var tensors = new java.util.LinkedHashMap<String, dev.realign.checkpoint.TensorData>();
        var random = new java.util.SplittableRandom(77);
        try (var f = dev.realign.checkpoint.SafetensorsFile.open(file)) {
            for (String n : f.names()) {
                tensors.put(n, dev.realign.checkpoint.TensorData.ofFloats(f.floats(n), f.info(n).shape()));
                if (n.endsWith("_proj.weight") && n.contains("self_attn")) {
                    int rows = Math.toIntExact(f.info(n).shape()[0]);
                    float[] bias = new float[rows];
                    for (int i = 0; i < rows; i++) {
                        bias[i] = (float) (0.5 * random.nextGaussian());
                    }
                    tensors.put(n.replace(".weight", ".bias"), dev.realign.checkpoint.TensorData.ofFloats(bias, rows));
                }
            }
        }
        dev.realign.checkpoint.SafetensorsWriter.write(file, tensors);
        editConfig(dir, c -> c.put("attention_bias", true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void tokenizesAndContinuesLikeLlamaCpp(Case c) {
        Path dir = model(c);
        Path gguf = tmp.resolve(c.name() + ".gguf");
        GgufExporter.exportModel(dir, gguf, c.options());
        try (LoadedModel ours = LoadedModel.load(c.name(), dir, Device.cpu(), ComputeType.F32);
             LlamaCpp theirs = LlamaCpp.load(gguf, 128, 2, true)) {
            for (String text : TEXTS) {
                assertThat(theirs.encode(text)).as("llama.cpp tokens of %s", text)
                        .containsExactly(ours.tokenizer().encode(text));
            }
            for (String prompt : PROMPTS) {
                int[] ids = ours.tokenizer().encode(prompt);
                assertSameGreedy(c.name() + " / " + prompt.replace("\n", "\\n"), ours, ours.weights(), theirs, ids);
            }
        }
    }

    /** Our greedy continuation must be long and decisive enough to compare, and llama.cpp's must equal it. */
    static Continuation assertSameGreedy(String label, LoadedModel ours, Weights weights, LlamaCpp theirs, int[] prompt) {
        return assertSameGreedy(label, ours, weights, prompt, () -> theirs.greedy(prompt, TOKENS));
    }

    static Continuation assertSameGreedy(String label, LoadedModel ours, Weights weights, int[] prompt,
                                         java.util.function.Supplier<String> theirs) {
        Continuation mine = GreedyParity.greedy(ours, weights, prompt, TOKENS);
        MARGINS.put(label, mine.minMargin());
        assertThat(mine.tokens().length).as("%s: our continuation ended early (an end token); pick another prompt"
                + " or seed", label).isGreaterThanOrEqualTo(MIN_COMPARED);
        assertThat(mine.minMargin()).as("%s: top-1/top-2 gap %.2e at step %d is too small to compare engines;"
                        + " pick another seed", label, mine.minMargin(), mine.minMarginStep())
                .isGreaterThanOrEqualTo(GreedyParity.MIN_MARGIN);
        assertThat(theirs.get()).as("%s: llama.cpp's greedy continuation", label).isEqualTo(mine.llamaCppText());
        return mine;
    }

    // ------------------------------------------------------------------ LoRA and merged profiles

    static Stream<Case> loraCases() {
        return cases().filter(c -> c.arch() == Architecture.LLAMA3 || c.arch() == Architecture.QWEN2);
    }

    static final List<String> LORA_MODULES = List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
            "self_attn.o_proj", "mlp.up_proj", "mlp.down_proj");

    /**
     * A random PEFT LoRA exported to GGUF and applied by llama.cpp at scale 1 continues like our engine on
     * base + (alpha/r) B A; at a per-request scale of 0.5 like our merge at ratio 0.5; and the merged weights
     * exported as a model (the merged-profile path) continue the same in llama.cpp too.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("loraCases")
    void loraAdapterMatchesOurMerge(Case c) {
        Path dir = model(c);
        Path adapter = PeftFixtures.writeRandomLora(tmp.resolve(c.name() + "-lora"),
                dev.realign.model.ModelConfig.load(dir), LORA_MODULES, 4, 8, c.loraSeed());
        Path base = tmp.resolve(c.name() + "-base.gguf");
        Path lora = tmp.resolve(c.name() + "-lora.gguf");
        Path merged = tmp.resolve(c.name() + "-merged.gguf");
        GgufExporter.exportModel(dir, base, GgufDtype.F32);
        GgufExporter.exportLora(adapter, dir, lora, GgufDtype.F32);
        try (LoadedModel ours = LoadedModel.load(c.name(), dir, Device.cpu(), ComputeType.F32);
             NDManager profiles = ours.manager().newSubManager()) {
            // What the server serves for the adapter at ratios 1 and 0.5 (unmerged LoRA), and the merged tensors.
            Weights full = GreedyParity.servedLora(ours.weights(), adapter, 1.0, profiles);
            Weights half = GreedyParity.servedLora(ours.weights(), adapter, 0.5, profiles);
            GgufExporter.exportModel(GreedyParity.mergeLora(ours.weights(), adapter, 1.0, profiles), dir, merged,
                    GgufExportOptions.of(GgufDtype.F32));
            try (LlamaCpp withLora = LlamaCpp.load(base, 128, 2, true, lora)) {
                for (String prompt : PROMPTS) {
                    int[] ids = ours.tokenizer().encode(prompt);
                    String label = c.name() + " +lora";
                    Continuation adapted = assertSameGreedy(label + " / " + prompt.replace("\n", "\\n"), ours, full,
                            withLora, ids);
                    assertThat(adapted.llamaCppText()).as("the adapter must change the continuation")
                            .isNotEqualTo(GreedyParity.greedy(ours, ours.weights(), ids, TOKENS).llamaCppText());
                    assertSameGreedy(label + "@0.5 / " + prompt.replace("\n", "\\n"), ours, half, ids,
                            () -> withLora.greedy(ids, TOKENS, 0.5f));
                }
            }
            try (LlamaCpp mergedModel = LlamaCpp.load(merged, 128, 2, true)) {
                for (String prompt : PROMPTS) {
                    int[] ids = ours.tokenizer().encode(prompt);
                    assertSameGreedy(c.name() + " merged export / " + prompt.replace("\n", "\\n"), ours, full,
                            mergedModel, ids);
                }
            }
        }
    }

    // ------------------------------------------------------------------ Mistral's sliding window

    /**
     * llama.cpp's llama architecture cannot mask a sliding window: exported with the context limited to the
     * window, the file is exact within it (prompt + continuation of 16 tokens here).
     */
    @Test
    void mistralWindowExportIsExactWithinTheWindow() {
        Case c = new Case("mistral-window", Architecture.MISTRAL, 3, 0, d -> {},
                GgufExportOptions.of(GgufDtype.F32).withLimitContextToSlidingWindow(true));
        Path dir = model(c);
        Path gguf = tmp.resolve("mistral-window.gguf");
        GgufExportResult result = GgufExporter.exportModel(dir, gguf, c.options());
        assertThat(GgufReader.read(gguf).<Long>get("llama.context_length"))
                .isEqualTo(SyntheticModelSpec.MISTRAL_SLIDING_WINDOW);
        assertThat(result.notes()).anyMatch(n -> n.contains("sliding window"));
        int window = SyntheticModelSpec.MISTRAL_SLIDING_WINDOW;
        try (LoadedModel ours = LoadedModel.load(c.name(), dir, Device.cpu(), ComputeType.F32);
             LlamaCpp theirs = LlamaCpp.load(gguf, window, 2, true)) {
            for (String prompt : PROMPTS.subList(0, 2)) {
                int[] ids = ours.tokenizer().encode(prompt);
                int tokens = window - ids.length;
                Continuation mine = GreedyParity.greedy(ours, ours.weights(), ids, tokens);
                MARGINS.put("mistral-window / " + prompt, mine.minMargin());
                assertThat(mine.minMargin()).isGreaterThanOrEqualTo(GreedyParity.MIN_MARGIN);
                assertThat(theirs.greedy(ids, tokens)).isEqualTo(mine.llamaCppText());
            }
        }
    }

    // ------------------------------------------------------------------ F16 files

    /**
     * F16 engines agree only to fp16 rounding: our fp16 path rounds every matrix product (logits included) to
     * fp16, about 4e-3 at these logits, while llama.cpp accumulates its F16 dot products in fp32. So only
     * prompts whose smallest gap is several fp16 steps ({@value #F16_MIN_MARGIN}) are compared, at least two per
     * case (in practice every prompt's continuation is identical; see the printed margins).
     */
    static final double F16_MIN_MARGIN = 0.01;

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void f16FileContinuesLikeOurF16Engine(Case c) {
        Path dir = model(c);
        Path gguf = tmp.resolve(c.name() + "-f16.gguf");
        GgufExporter.exportModel(dir, gguf, GgufDtype.F16);
        int compared = 0;
        try (LoadedModel ours = LoadedModel.load(c.name(), dir, Device.cpu(), ComputeType.F16);
             LlamaCpp theirs = LlamaCpp.load(gguf, 128, 2, true)) {
            for (String prompt : PROMPTS) {
                int[] ids = ours.tokenizer().encode(prompt);
                Continuation mine = GreedyParity.greedy(ours, ours.weights(), ids, TOKENS);
                MARGINS.put(c.name() + " F16 / " + prompt.replace("\n", "\\n"), mine.minMargin());
                if (mine.minMargin() < F16_MIN_MARGIN || mine.tokens().length < MIN_COMPARED) {
                    continue;
                }
                assertThat(theirs.greedy(ids, TOKENS)).as("%s F16: llama.cpp's continuation of %s", c.name(), prompt)
                        .isEqualTo(mine.llamaCppText());
                compared++;
            }
        }
        assertThat(compared).as("prompts decisive enough to compare at F16").isGreaterThanOrEqualTo(2);
    }

    // ------------------------------------------------------------------ pre-tokenizers

    /**
     * The Split + ByteLevel pre-tokenizers of Qwen2 and Llama 3 map to llama.cpp's {@code qwen2} and
     * {@code llama-bpe}; GPT-2's regex written as a Split maps to {@code gpt-2} like the plain ByteLevel one.
     * The tokenizer file of a test model is rewritten to each and must tokenize the same in both engines.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("preTokenizers")
    void splitPreTokenizersTokenizeLikeLlamaCpp(String expectedPre, String regex, boolean ignoreMerges) throws IOException {
        Case base = cases().findFirst().orElseThrow();
        Path dir = tmp.resolve("pre-" + expectedPre + "-" + ignoreMerges);
        copyModel(model(base), dir);
        ObjectNode tokenizer = (ObjectNode) JSON.readTree(Files.readString(dir.resolve("tokenizer.json")));
        ObjectNode pre = JSON.createObjectNode().put("type", "Sequence");
        var list = pre.putArray("pretokenizers");
        ObjectNode split = list.addObject().put("type", "Split");
        split.putObject("pattern").put("Regex", regex);
        split.put("behavior", "Isolated").put("invert", false);
        list.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false)
                .put("use_regex", false);
        tokenizer.set("pre_tokenizer", pre);
        ((ObjectNode) tokenizer.get("model")).put("ignore_merges", ignoreMerges);
        Files.writeString(dir.resolve("tokenizer.json"), JSON.writeValueAsString(tokenizer));
        Path gguf = tmp.resolve("pre-" + expectedPre + ".gguf");
        GgufExporter.exportModel(dir, gguf, GgufDtype.F32);
        assertThat(GgufReader.read(gguf).<String>get("tokenizer.ggml.pre")).isEqualTo(expectedPre);
        try (dev.realign.tokenize.Tokenizer ours = dev.realign.tokenize.Tokenizer.load(dir);
             LlamaCpp theirs = LlamaCpp.load(gguf, 64, 1, false)) {
            for (String text : TEXTS) {
                assertThat(theirs.encode(text)).as("%s tokens of %s", expectedPre, text)
                        .containsExactly(ours.encode(text));
            }
        }
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> preTokenizers() {
        return Stream.of(
                org.junit.jupiter.params.provider.Arguments.of("qwen2", GgufTokenizer.QWEN2_REGEX, false),
                org.junit.jupiter.params.provider.Arguments.of("llama-bpe", GgufTokenizer.LLAMA3_REGEX, true),
                org.junit.jupiter.params.provider.Arguments.of("gpt-2", GgufTokenizer.GPT2_REGEX, false));
    }

    static void copyModel(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    // ------------------------------------------------------------------ Qwen3

    /**
     * The bundled llama.cpp (b4916, March 2025) predates llama.cpp's qwen3 architecture, so Qwen3 exports are
     * checked against the format only ({@code GgufExporterTest}). When the binding is upgraded this fails: then
     * add a QWEN3 case to {@link #cases()}.
     */
    @Test
    void bundledLlamaCppPredatesQwen3() {
        Path dir = tmp.resolve("qwen3");
        SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.QWEN3, 11), dir);
        Path gguf = tmp.resolve("qwen3.gguf");
        GgufExporter.exportModel(dir, gguf, GgufDtype.F32);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LlamaCpp.load(gguf, 64, 1, false).close())
                .hasMessageContaining("could not load model");
    }
}
