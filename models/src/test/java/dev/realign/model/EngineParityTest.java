package dev.realign.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.realign.generate.DecodeStep;
import dev.realign.generate.SamplingParams;
import dev.realign.generate.Sequence;
import dev.realign.generate.StepOutput;
import dev.realign.generate.TextStream;
import dev.realign.model.TinyModels.Variant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Parity of the DJL engine ({@link LlamaModel}) with the independent double-precision
 * {@link ReferenceLlama} on tiny random models of every supported family.
 *
 * <p><b>Tolerance.</b> For each position, the relative error is {@code max_v |engine_v - ref_v| / max_v |ref_v|}
 * over the vocabulary, and must be at most {@value #TOL}. The engine computes in fp32, whose rounding on
 * these sizes stays near 1e-6; a wrong RoPE pairing, a wrong GQA head mapping, an off-by-one sliding
 * window, a missing bias or a wrong rms_norm_eps moves the logits by 1e-3 or more (checked by mutating the
 * reference and the engine: errors of 1.7e-3 to 0.2 against a worst observed fp32 error below 1e-6).
 */
class EngineParityTest {
    static final double TOL = 1e-4;
    /** Engine batched vs engine one-by-one: the same fp32 arithmetic up to matmul blocking. */
    static final double BATCH_TOL = 1e-5;
    static final int SEQ = 24;
    /** Smallest top-1 / top-2 logit gap the greedy test accepts in the reference. */
    static final double MIN_MARGIN = 1e-4;

    /** Worst observed engine-vs-reference error per variant and test, printed at the end. */
    private static final Map<String, Double> OBSERVED = new TreeMap<>();
    /** Smallest reference top-1 / top-2 gap along the greedy continuations, per variant. */
    private static final Map<String, Double> MARGINS = new TreeMap<>();

    static Stream<Variant> variants() {
        return TinyModels.all().stream();
    }

    static {
        // Tiny tensors: extra intra-op threads only add OpenMP barriers, which spin for tens of seconds per
        // class when the CPU is shared (measured: 4-7 s with one thread, 34-80 s with two on a loaded 2-core
        // machine). Only takes effect if this class is the first to start the PyTorch engine in the JVM.
        if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_threads", "1");
        }
    }

    static NDManager manager() {
        return NDManager.newBaseManager(Device.cpu(), "PyTorch");
    }

    @AfterAll
    static void report() {
        OBSERVED.forEach((k, v) -> System.out.printf("parity %-45s max rel err %.3e%n", k, v));
        MARGINS.forEach((k, v) -> System.out.printf("greedy %-45s min top-2 margin %.3e%n", k, v));
    }

    // ------------------------------------------------------------------ config and layout

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void configParsesAsTheFamilyRequiresAndLayoutsAgree(Variant v) {
        v.check().accept(v.config());
        var ours = TensorLayout.expected(v.config());
        var reference = ReferenceLlama.shapes(v.config());
        assertThat(ours.keySet()).containsExactlyInAnyOrderElementsOf(reference.keySet());
        for (var e : reference.entrySet()) {
            assertThat(ours.get(e.getKey())).as(e.getKey())
                    .containsExactly(Arrays.stream(e.getValue()).asLongStream().toArray());
        }
        // The engine's rotary frequencies match transformers' definition.
        double[] expected = ReferenceLlama.inverseFrequencies(v.config());
        double[] engine = v.config().ropeScaling().inverseFrequencies(v.config().ropeTheta(), v.config().headDim());
        for (int i = 0; i < expected.length; i++) {
            assertThat(engine[i]).as("inv_freq[%d]", i).isCloseTo(expected[i], offset(1e-15 + 1e-12 * expected[i]));
        }
    }

    @Test
    void llama3ScalingFollowsTheBandRule() {
        ModelConfig c = TinyModels.llama3().config();
        double[] inv = ReferenceLlama.inverseFrequencies(c);
        double[] plain = new double[inv.length];
        for (int i = 0; i < inv.length; i++) {
            plain[i] = Math.pow(50000, -2.0 * i / 16);
        }
        // wavelength 2*pi / f: 6.3 (< 64/4 = 16: kept), 24.3 (in [16, 64]: blended), >= 94 (> 64: / 8)
        assertThat(inv[0]).isEqualTo(plain[0]);
        assertThat(inv[1]).isStrictlyBetween(plain[1] / 8, plain[1]);
        double smooth = (64 / (2 * Math.PI / plain[1]) - 1) / (4 - 1);
        assertThat(inv[1]).isCloseTo((1 - smooth) * plain[1] / 8 + smooth * plain[1], offset(1e-15));
        for (int i = 2; i < inv.length; i++) {
            assertThat(inv[i]).isCloseTo(plain[i] / 8, offset(1e-18));
        }
    }

    /**
     * Every family's distinguishing feature changes the reference logits far beyond {@link #TOL}, so a
     * parity pass cannot come from a feature that does nothing at these sizes and positions.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void distinguishingFeaturesMatterAtTheseSizes(Variant v) {
        int[] tokens = v.tokens(SEQ, 1);
        double[][] ref = v.reference().logits(tokens);
        ModelConfig c = v.config();
        List<ModelConfig> ablations = new ArrayList<>();
        if (c.ropeScaling().type() != RopeScaling.Type.NONE) {
            ablations.add(copy(c, RopeScaling.NONE, c.qkvBias(), c.outputBias(), c.qkNorm(), c.slidingWindow()));
        }
        if (c.slidingWindow() > 0) {
            ablations.add(copy(c, c.ropeScaling(), c.qkvBias(), c.outputBias(), c.qkNorm(), 0));
            ablations.add(copy(c, c.ropeScaling(), c.qkvBias(), c.outputBias(), c.qkNorm(), c.slidingWindow() + 1));
        }
        if (c.qkvBias()) {
            ablations.add(copy(c, c.ropeScaling(), false, c.outputBias(), c.qkNorm(), c.slidingWindow()));
        }
        if (c.outputBias()) {
            ablations.add(copy(c, c.ropeScaling(), c.qkvBias(), false, c.qkNorm(), c.slidingWindow()));
        }
        if (c.qkNorm()) {
            ablations.add(copy(c, c.ropeScaling(), c.qkvBias(), c.outputBias(), false, c.slidingWindow()));
        }
        if (v.name().equals("llama2-mha")) { // tiny embeddings: eps must be the configured one
            ablations.add(new ModelConfig(c.modelType(), c.hiddenSize(), c.intermediateSize(), c.numLayers(),
                    c.numHeads(), c.numKvHeads(), c.headDim(), c.vocabSize(), c.maxPositions(), 1e-6, c.ropeTheta(),
                    c.ropeScaling(), c.tieWordEmbeddings(), c.qkvBias(), c.outputBias(), c.qkNorm(),
                    c.slidingWindow(), c.bosTokenId(), c.eosTokenIds()));
        }
        ablations.add(copy(c, new RopeScaling(RopeScaling.Type.LINEAR, 1.01, 0, 0, 0), c.qkvBias(), c.outputBias(),
                c.qkNorm(), c.slidingWindow())); // even a 1% frequency change is visible
        for (ModelConfig ablated : ablations) {
            double[][] other = new ReferenceLlama(ablated, v.weights()).logits(tokens);
            double worst = 0;
            for (int t = 0; t < SEQ; t++) {
                worst = Math.max(worst, relErr(other[t], ref[t]));
            }
            assertThat(worst).as("%s vs %s", ablated, c).isGreaterThan(10 * TOL);
        }
    }

    private static ModelConfig copy(ModelConfig c, RopeScaling rs, boolean qkvBias, boolean outputBias,
                                    boolean qkNorm, int window) {
        return new ModelConfig(c.modelType(), c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(),
                c.numKvHeads(), c.headDim(), c.vocabSize(), c.maxPositions(), c.rmsNormEps(), c.ropeTheta(), rs,
                c.tieWordEmbeddings(), qkvBias, outputBias, qkNorm, window, c.bosTokenId(), c.eosTokenIds());
    }

    // ------------------------------------------------------------------ 1. full sequence

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void fullSequenceLogitsMatchReference(Variant v) {
        int[] tokens = v.tokens(SEQ, 1);
        double[][] ref = v.reference().logits(tokens);
        var model = new LlamaModel(v.config(), DataType.FLOAT32);
        try (NDManager m = manager()) {
            Weights weights = v.engineWeights(m);
            float[][] got = rows(model.forward(weights, List.of(new SequenceChunk(null, tokens)), m, true),
                    v.config().vocabSize());
            assertThat(got).hasNumberOfRows(SEQ);
            for (int t = 0; t < SEQ; t++) {
                assertClose(v, "full", got[t], ref[t], TOL, "position " + t);
            }
        }
    }

    // ------------------------------------------------------------------ 2. incremental with a KV cache

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void incrementalDecodingWithCacheMatchesReference(Variant v) {
        int[] tokens = v.tokens(SEQ, 2);
        double[][] ref = v.reference().logits(tokens);
        var model = new LlamaModel(v.config(), DataType.FLOAT32);
        int vocab = v.config().vocabSize();
        try (NDManager m = manager()) {
            Weights weights = v.engineWeights(m);
            try (KvCache cache = new KvCache(v.config(), 32, m)) {
                // prefill 7 tokens: only the last position
                try (NDManager step = m.newSubManager()) {
                    float[][] got = rows(model.forward(weights,
                            List.of(new SequenceChunk(cache, Arrays.copyOfRange(tokens, 0, 7))), step, false), vocab);
                    assertThat(got).hasNumberOfRows(1);
                    assertClose(v, "incremental", got[0], ref[6], TOL, "prefill, position 6");
                }
                assertThat(cache.length()).isEqualTo(7);
                // a chunk of 6 more on top of the cache (chunked prefill), every position
                try (NDManager step = m.newSubManager()) {
                    float[][] got = rows(model.forward(weights,
                            List.of(new SequenceChunk(cache, Arrays.copyOfRange(tokens, 7, 13))), step, true), vocab);
                    assertThat(got).hasNumberOfRows(6);
                    for (int i = 0; i < 6; i++) {
                        assertClose(v, "incremental", got[i], ref[7 + i], TOL, "chunk, position " + (7 + i));
                    }
                }
                assertThat(cache.length()).isEqualTo(13);
                // then one token at a time
                for (int t = 13; t < SEQ; t++) {
                    try (NDManager step = m.newSubManager()) {
                        float[][] got = rows(model.forward(weights,
                                List.of(new SequenceChunk(cache, new int[] {tokens[t]})), step, false), vocab);
                        assertClose(v, "incremental", got[0], ref[t], TOL, "decode, position " + t);
                    }
                    assertThat(cache.length()).isEqualTo(t + 1);
                }
            }
        }
    }

    // ------------------------------------------------------------------ 3. greedy generation

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void greedyContinuationsMatchReference(Variant v) {
        int steps = 32;
        int[][] prompts = {v.tokens(5, 3), v.tokens(11, 4)};
        ReferenceLlama reference = v.reference();
        int[][] expected = new int[prompts.length][];
        for (int s = 0; s < prompts.length; s++) {
            expected[s] = reference.greedy(prompts[s], steps);
            double margin = assertDecisive(reference, prompts[s], expected[s]);
            MARGINS.merge(v.name(), margin, Math::min);
        }
        TextStream silent = new TextStream() {
            @Override
            public String push(int tokenId) {
                return "";
            }

            @Override
            public String flush() {
                return "";
            }
        };
        var decode = new DecodeStep(new LlamaModel(v.config(), DataType.FLOAT32));
        try (NDManager m = manager()) {
            Weights weights = v.engineWeights(m);
            List<Sequence> sequences = new ArrayList<>();
            List<List<Integer>> generated = new ArrayList<>();
            try {
                for (int[] prompt : prompts) {
                    sequences.add(new Sequence(prompt, new KvCache(v.config(), prompt.length + steps, m),
                            SamplingParams.greedy(steps), silent, Set.of()));
                    generated.add(new ArrayList<>());
                }
                // both sequences step together, as the scheduler runs them
                for (int guard = 0; guard <= steps && sequences.stream().anyMatch(s -> !s.finished()); guard++) {
                    List<Sequence> running = sequences.stream().filter(s -> !s.finished()).toList();
                    List<StepOutput> out = decode.run(weights, running, m);
                    for (int i = 0; i < running.size(); i++) {
                        generated.get(sequences.indexOf(running.get(i))).add(out.get(i).tokenId());
                    }
                }
            } finally {
                sequences.forEach(Sequence::close);
            }
            for (int s = 0; s < prompts.length; s++) {
                assertThat(sequences.get(s).finished()).isTrue();
                assertThat(generated.get(s)).as("greedy continuation of prompt %d", s)
                        .containsExactly(Arrays.stream(expected[s]).boxed().toArray(Integer[]::new));
            }
        }
    }

    /**
     * The reference's top-1 beats its top-2 by more than {@link #MIN_MARGIN}, far above the engine's fp32
     * error (a few 1e-6 absolute here), so an equal continuation is not luck and a different one is a bug.
     */
    private static double assertDecisive(ReferenceLlama reference, int[] prompt, int[] continuation) {
        double smallest = Double.POSITIVE_INFINITY;
        int[] all = Arrays.copyOf(prompt, prompt.length + continuation.length);
        System.arraycopy(continuation, 0, all, prompt.length, continuation.length);
        double[][] logits = reference.logits(Arrays.copyOf(all, all.length - 1));
        for (int s = 0; s < continuation.length; s++) {
            double[] row = logits[prompt.length - 1 + s];
            double[] sorted = row.clone();
            Arrays.sort(sorted);
            double margin = sorted[sorted.length - 1] - sorted[sorted.length - 2];
            assertThat(margin).as("top-2 margin at step %d", s).isGreaterThan(MIN_MARGIN);
            smallest = Math.min(smallest, margin);
        }
        return smallest;
    }

    // ------------------------------------------------------------------ 4. several sequences in one call

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void batchedChunksMatchOneByOneAndReference(Variant v) {
        int[][] seqs = {v.tokens(10, 5), v.tokens(5, 6), v.tokens(16, 7)};
        int[] prefilled = {5, 0, 14};   // cache positions before the batched call
        int[] chunk = {4, 4, 1};        // tokens each runs in the batched call
        ReferenceLlama reference = v.reference();
        double[][][] ref = new double[seqs.length][][];
        for (int s = 0; s < seqs.length; s++) {
            ref[s] = reference.logits(seqs[s]);
        }
        var model = new LlamaModel(v.config(), DataType.FLOAT32);
        int vocab = v.config().vocabSize();
        try (NDManager m = manager()) {
            Weights weights = v.engineWeights(m);
            List<KvCache> batched = new ArrayList<>();
            List<KvCache> single = new ArrayList<>();
            try {
                for (int s = 0; s < seqs.length; s++) {
                    batched.add(new KvCache(v.config(), 24, m));
                    single.add(new KvCache(v.config(), 24, m));
                    for (KvCache cache : List.of(batched.get(s), single.get(s))) {
                        if (prefilled[s] > 0) {
                            try (NDManager step = m.newSubManager()) {
                                model.forward(weights, List.of(new SequenceChunk(cache,
                                        Arrays.copyOfRange(seqs[s], 0, prefilled[s]))), step, false);
                            }
                        }
                    }
                }
                // step A: chunks of 4, 4 and 1 tokens at positions 5, 0 and 14, every position
                float[][] together;
                try (NDManager step = m.newSubManager()) {
                    List<SequenceChunk> chunks = new ArrayList<>();
                    for (int s = 0; s < seqs.length; s++) {
                        chunks.add(new SequenceChunk(batched.get(s),
                                Arrays.copyOfRange(seqs[s], prefilled[s], prefilled[s] + chunk[s])));
                    }
                    together = rows(model.forward(weights, chunks, step, true), vocab);
                }
                assertThat(together).hasNumberOfRows(Arrays.stream(chunk).sum());
                int row = 0;
                for (int s = 0; s < seqs.length; s++) {
                    float[][] alone;
                    try (NDManager step = m.newSubManager()) {
                        alone = rows(model.forward(weights, List.of(new SequenceChunk(single.get(s),
                                Arrays.copyOfRange(seqs[s], prefilled[s], prefilled[s] + chunk[s]))), step, true), vocab);
                    }
                    for (int i = 0; i < chunk[s]; i++, row++) {
                        int pos = prefilled[s] + i;
                        assertClose(v, "batch-vs-single", together[row], toDouble(alone[i]), BATCH_TOL,
                                "sequence " + s + " position " + pos);
                        assertClose(v, "batch", together[row], ref[s][pos], TOL, "sequence " + s + " position " + pos);
                    }
                    assertThat(batched.get(s).length()).isEqualTo(prefilled[s] + chunk[s]);
                }
                // step B: one more token each (a decode step), last positions only
                float[][] decodeTogether;
                try (NDManager step = m.newSubManager()) {
                    List<SequenceChunk> chunks = new ArrayList<>();
                    for (int s = 0; s < seqs.length; s++) {
                        chunks.add(new SequenceChunk(batched.get(s), new int[] {seqs[s][prefilled[s] + chunk[s]]}));
                    }
                    decodeTogether = rows(model.forward(weights, chunks, step, false), vocab);
                }
                assertThat(decodeTogether).hasNumberOfRows(seqs.length);
                for (int s = 0; s < seqs.length; s++) {
                    float[][] alone;
                    try (NDManager step = m.newSubManager()) {
                        alone = rows(model.forward(weights, List.of(new SequenceChunk(single.get(s),
                                new int[] {seqs[s][prefilled[s] + chunk[s]]})), step, false), vocab);
                    }
                    int pos = prefilled[s] + chunk[s];
                    assertClose(v, "batch-vs-single", decodeTogether[s], toDouble(alone[0]), BATCH_TOL,
                            "decode, sequence " + s + " position " + pos);
                    assertClose(v, "batch", decodeTogether[s], ref[s][pos], TOL,
                            "decode, sequence " + s + " position " + pos);
                }
            } finally {
                batched.forEach(KvCache::close);
                single.forEach(KvCache::close);
            }
            // cache-free whole sequences of different lengths in one call (scoring, training)
            try (NDManager step = m.newSubManager()) {
                float[][] got = rows(model.forward(weights, List.of(new SequenceChunk(null, seqs[0]),
                        new SequenceChunk(null, seqs[1]), new SequenceChunk(null, seqs[2])), step, true), vocab);
                int r = 0;
                for (int s = 0; s < seqs.length; s++) {
                    for (int t = 0; t < seqs[s].length; t++, r++) {
                        assertClose(v, "batch", got[r], ref[s][t], TOL, "cache-free sequence " + s + " position " + t);
                    }
                }
                assertThat(r).isEqualTo(got.length);
            }
        }
    }

    // ------------------------------------------------------------------ config rejection

    @Test
    void unsupportedConfigsAreRejectedNamingTheField() {
        assertRejected(j -> j.put("model_type", "gpt2"), "model_type", "gpt2");
        assertRejected(j -> j.put("hidden_act", "gelu"), "hidden_act", "gelu");
        assertRejected(j -> {
            ObjectNode rs = j.putObject("rope_scaling");
            rs.put("rope_type", "yarn");
            rs.put("factor", 2.0);
        }, "rope_scaling", "yarn");
        assertRejected(j -> {
            ObjectNode rs = j.putObject("rope_scaling");
            rs.put("type", "dynamic");
            rs.put("factor", 2.0);
        }, "rope_scaling", "dynamic");
        assertRejected(j -> j.put("num_key_value_heads", 3), "num_key_value_heads", "num_attention_heads");
    }

    /**
     * transformers 5 saves rope_theta and the rope scaling together as {@code rope_parameters} and writes
     * neither top-level field; such a config must mean the same model, not fall back to theta 10000.
     */
    @Test
    void transformersV5RopeParametersParseLikeLegacyFields() {
        for (Variant v : List.of(TinyModels.llama3(), TinyModels.llamaLinearBias(), TinyModels.qwen3())) {
            ObjectNode legacy = v.json();
            ObjectNode j = legacy.deepCopy();
            ObjectNode params = j.putObject("rope_parameters");
            if (legacy.get("rope_scaling") != null) {
                params.setAll((ObjectNode) legacy.get("rope_scaling"));
            } else {
                params.put("rope_type", "default");
            }
            params.put("rope_theta", legacy.get("rope_theta").doubleValue());
            j.remove("rope_scaling");
            j.remove("rope_theta");
            assertThat(ModelConfig.parse(j, "v5/config.json")).as(v.name()).isEqualTo(v.config());
        }
        assertRejected(j -> {
            j.remove("rope_theta");
            ObjectNode rp = j.putObject("rope_parameters");
            rp.put("rope_type", "yarn");
            rp.put("factor", 2.0);
            rp.put("rope_theta", 10000.0);
        }, "rope_parameters", "yarn");
    }

    private static void assertRejected(Consumer<ObjectNode> edit, String field, String detail) {
        ObjectNode j = TinyModels.llama2().json().deepCopy();
        edit.accept(j);
        assertThatThrownBy(() -> ModelConfig.parse(j, "tiny/config.json"))
                .isInstanceOf(ModelConfigException.class)
                .hasMessageContaining("tiny/config.json")
                .hasMessageContaining(field)
                .hasMessageContaining(detail);
    }

    // ------------------------------------------------------------------ helpers

    /** Splits fp32 logits (rows, vocab) into rows. */
    static float[][] rows(NDArray logits, int vocab) {
        assertThat(logits.getDataType()).isEqualTo(DataType.FLOAT32);
        assertThat(logits.getShape().dimension()).isEqualTo(2);
        assertThat(logits.getShape().get(1)).isEqualTo(vocab);
        float[] flat = logits.toFloatArray();
        float[][] out = new float[flat.length / vocab][];
        for (int i = 0; i < out.length; i++) {
            out[i] = Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
        }
        return out;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    /** max |a - ref| / max |ref| over one row. */
    static double relErr(double[] a, double[] ref) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < ref.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return diff / scale;
    }

    private static void assertClose(Variant v, String test, float[] got, double[] ref, double tol, String where) {
        assertThat(got).hasSize(ref.length);
        double err = relErr(toDouble(got), ref);
        OBSERVED.merge(v.name() + " " + test, err, Math::max);
        assertThat(err).as("%s %s: relative logits error", v.name(), where).isLessThanOrEqualTo(tol);
    }
}
