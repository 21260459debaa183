package dev.realign.safety;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.realign.safety.OnnxClassifierSpec.RefusalLabel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link OnnxClassifierDetector} on tiny classifiers this test writes itself (ONNX protobuf by
 * {@link OnnxWriter}, a WordLevel tokenizer.json), checked against the same computation in double precision:
 * logits = mean over unmasked tokens of (E[id] + T[type]) @ W + b.
 */
class OnnxClassifierDetectorTest {
    private static final List<String> VOCAB = List.of("[PAD]", "[UNK]", "i", "cannot", "help", "with", "that", "sure",
            "here", "is", "how", "to", "bake", "bread", "sorry", "no", "the", "answer", "yes", "won't");
    private static final int D = 4;

    @TempDir
    static Path dir;
    private static float[] embedding; // (vocab, D)
    private static float[] types; // (2, D)
    private static Path tokenizer;

    @BeforeAll
    static void writeTokenizer() throws IOException {
        SplittableRandom random = new SplittableRandom(11);
        embedding = randomFloats(random, VOCAB.size() * D);
        types = randomFloats(random, 2 * D);
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < VOCAB.size(); i++) {
            vocab.append(i == 0 ? "" : ",").append('"').append(VOCAB.get(i)).append("\":").append(i);
        }
        tokenizer = dir.resolve("tokenizer.json");
        // Whitespace splits on \w+|[^\w\s]+, so "won't" is three pieces: that word stays [UNK] on purpose.
        Files.writeString(tokenizer, """
                {"version": "1.0", "truncation": null, "padding": null,
                 "added_tokens": [
                   {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                   {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
                 "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
                 "post_processor": null, "decoder": null,
                 "model": {"type": "WordLevel", "vocab": {%s}, "unk_token": "[UNK]"}}
                """.formatted(vocab));
    }

    private static float[] randomFloats(SplittableRandom random, int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return values;
    }

    /** The classifier graph with {@code labels} logits: Gather, masked mean, MatMul, Add. */
    private static Path writeClassifier(String file, float[] w, float[] b, int labels) throws IOException {
        OnnxWriter onnx = new OnnxWriter()
                .input("input_ids", OnnxWriter.INT64, "batch", "seq")
                .input("attention_mask", OnnxWriter.INT64, "batch", "seq")
                .input("token_type_ids", OnnxWriter.INT64, "batch", "seq")
                .floats("E", embedding, VOCAB.size(), D)
                .floats("T", types, 2, D)
                .floats("W", w, D, labels)
                .floats("b", b, labels)
                .longs("axis1", new long[] {1}, 1)
                .longs("axis2", new long[] {2}, 1)
                .node("Gather", List.of("E", "input_ids"), "tok") // (batch, seq, D)
                .node("Gather", List.of("T", "token_type_ids"), "typ") // (batch, seq, D)
                .node("Add", List.of("tok", "typ"), "emb") // (batch, seq, D)
                .node("Cast", List.of("attention_mask"), "maskf", "to", OnnxWriter.FLOAT) // (batch, seq)
                .node("Unsqueeze", List.of("maskf", "axis2"), "mask3") // (batch, seq, 1)
                .node("Mul", List.of("emb", "mask3"), "masked") // (batch, seq, D)
                .node("ReduceSum", List.of("masked", "axis1"), "summed", "keepdims", 0) // (batch, D)
                .node("ReduceSum", List.of("maskf", "axis1"), "count", "keepdims", 1) // (batch, 1)
                .node("Div", List.of("summed", "count"), "mean") // (batch, D)
                .node("MatMul", List.of("mean", "W"), "proj") // (batch, labels)
                .node("Add", List.of("proj", "b"), "logits") // (batch, labels)
                .output("logits", OnnxWriter.FLOAT, "batch", (long) labels);
        Path path = dir.resolve(file);
        Files.write(path, onnx.toBytes());
        return path;
    }

    /** The reference: the same tokens and arithmetic in double precision. */
    private static double[] referenceLogits(String text, int maxTokens, float[] w, float[] b, int labels) {
        List<Integer> ids = new ArrayList<>();
        for (String piece : text.toLowerCase(Locale.ROOT).split("(?<=\\w)(?=[^\\w\\s])|(?<=[^\\w\\s])(?=\\w)|\\s+")) {
            if (!piece.isEmpty()) {
                int id = VOCAB.indexOf(piece);
                ids.add(id < 0 ? 1 : id);
            }
        }
        ids = ids.subList(0, Math.min(ids.size(), maxTokens));
        double[] mean = new double[D];
        for (int id : ids) {
            for (int d = 0; d < D; d++) {
                mean[d] += ((double) embedding[id * D + d] + types[d]) / ids.size();
            }
        }
        double[] logits = new double[labels];
        for (int c = 0; c < labels; c++) {
            logits[c] = b[c];
            for (int d = 0; d < D; d++) {
                logits[c] += mean[d] * w[d * labels + c];
            }
        }
        return logits;
    }

    private static final float[] W2 = {1.5f, -1.5f, -2f, 2f, 0.5f, -0.25f, 1f, 0.75f}; // (D, 2)
    private static final float[] B2 = {0.1f, -0.2f};
    private static final List<String> TEXTS = List.of("I cannot help with that", "Sure here is how to bake bread",
            "sorry", "No", "the answer is yes", "I won't help with that, sorry!");

    @Test
    void softmaxAtTheNamedRefusalLabelMatchesTheDoublePrecisionReference() throws IOException {
        Path model = writeClassifier("two-labels.onnx", W2, B2, 2);
        Files.writeString(dir.resolve("config.json"), """
                {"id2label": {"0": "complied", "1": "refused"}}""");
        OnnxClassifierSpec spec = new OnnxClassifierSpec("guard", model, tokenizer, RefusalLabel.named("refused"));
        try (OnnxClassifierDetector detector = OnnxClassifierDetector.open(spec)) {
            assertThat(detector.labels()).isEqualTo(2);
            assertThat(detector.name()).isEqualTo("guard");
            List<RefusalVerdict> batched = detector.classifyAll(TEXTS); // mixed lengths: padded batches
            boolean sawBoth = false;
            for (int i = 0; i < TEXTS.size(); i++) {
                double[] logits = referenceLogits(TEXTS.get(i), 512, W2, B2, 2);
                double p = 1 / (1 + Math.exp(logits[0] - logits[1]));
                assertThat((double) batched.get(i).score()).as(TEXTS.get(i)).isCloseTo(p, within(1e-5));
                assertThat(batched.get(i).refused()).isEqualTo(p >= 0.5);
                assertThat(batched.get(i).detector()).isEqualTo("guard");
                assertThat(detector.classify(TEXTS.get(i)).score()).isCloseTo(batched.get(i).score(), within(1e-6f));
                sawBoth |= batched.get(i).refused() != batched.get(0).refused();
            }
            assertThat(sawBoth).as("the texts should get both verdicts, or the test checks little").isTrue();
        }
    }

    @Test
    void aSingleLogitIsASigmoidAndTruncationKeepsTheFirstTokens() throws IOException {
        float[] w = {2f, -1f, 0.5f, 1f};
        float[] b = {-0.3f};
        Path model = writeClassifier("one-logit.onnx", w, b, 1);
        OnnxClassifierSpec spec = new OnnxClassifierSpec("single", model, tokenizer, RefusalLabel.index(0), 0.5, 3);
        try (OnnxClassifierDetector detector = OnnxClassifierDetector.open(spec)) {
            for (String text : TEXTS) {
                double p = 1 / (1 + Math.exp(-referenceLogits(text, 3, w, b, 1)[0]));
                assertThat((double) detector.classify(text).score()).as(text).isCloseTo(p, within(1e-5));
            }
        }
    }

    @Test
    void probabilityIsASoftmaxThatDoesNotOverflow() {
        assertThat(OnnxClassifierDetector.probability(new float[] {1000f, 0f}, 0)).isCloseTo(1.0, within(1e-12));
        assertThat(OnnxClassifierDetector.probability(new float[] {0f, 0f, 0f, 0f}, 2)).isCloseTo(0.25, within(1e-12));
        assertThat(OnnxClassifierDetector.probability(new float[] {-800f}, 0)).isZero();
    }

    @Test
    void missingFilesAreNamed() {
        Path missing = dir.resolve("absent.onnx");
        assertThatThrownBy(() -> OnnxClassifierDetector.open(
                new OnnxClassifierSpec("x", missing, tokenizer, RefusalLabel.index(0))))
                .hasMessageContaining(missing.toString()).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> OnnxClassifierDetector.open(
                new OnnxClassifierSpec("x", tokenizer, dir.resolve("absent.json"), RefusalLabel.index(0))))
                .hasMessageContaining("absent.json");
    }

    @Test
    void aFileThatIsNotOnnxIsNamed() throws IOException {
        Path garbage = Files.writeString(dir.resolve("garbage.onnx"), "not a model");
        assertThatThrownBy(() -> OnnxClassifierDetector.open(
                new OnnxClassifierSpec("x", garbage, tokenizer, RefusalLabel.index(0))))
                .hasMessageContaining(garbage.toString());
    }

    @Test
    void anOutputThatIsNotBatchByLabelsIsRejectedWithTheFileNamed() throws IOException {
        OnnxWriter onnx = new OnnxWriter()
                .input("input_ids", OnnxWriter.INT64, "batch", "seq")
                .floats("E", embedding, VOCAB.size(), D)
                .node("Gather", List.of("E", "input_ids"), "tok") // (batch, seq, D): per token, not per response
                .output("tok", OnnxWriter.FLOAT, "batch", "seq", (long) D);
        Path model = Files.write(dir.resolve("token-level.onnx"), onnx.toBytes());
        assertThatThrownBy(() -> OnnxClassifierDetector.open(
                new OnnxClassifierSpec("x", model, tokenizer, RefusalLabel.index(0))))
                .hasMessageContaining(model.toString()).hasMessageContaining("expected (batch, labels)");
    }

    @Test
    void anInputWeCannotFeedIsNamed() throws IOException {
        OnnxWriter onnx = new OnnxWriter()
                .input("input_ids", OnnxWriter.INT64, "batch", "seq")
                .input("pixel_values", OnnxWriter.FLOAT, "batch", 3L)
                .floats("E", embedding, VOCAB.size(), D)
                .node("Gather", List.of("E", "input_ids"), "tok")
                .output("tok", OnnxWriter.FLOAT, "batch", "seq", (long) D);
        Path model = Files.write(dir.resolve("vision.onnx"), onnx.toBytes());
        assertThatThrownBy(() -> OnnxClassifierDetector.open(
                new OnnxClassifierSpec("x", model, tokenizer, RefusalLabel.index(0))))
                .hasMessageContaining("pixel_values").hasMessageContaining(model.toString());
    }

    @Test
    void refusalLabelsThatDoNotExistAreErrors() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("labels"));
        Path model = writeClassifier("labels/model.onnx", W2, B2, 2);
        assertThatThrownBy(() -> OnnxClassifierDetector.open(
                new OnnxClassifierSpec("x", model, tokenizer, RefusalLabel.named("refused"))))
                .hasMessageContaining(sub.resolve("config.json").toString());
        Files.writeString(sub.resolve("config.json"), """
                {"id2label": {"0": "safe", "1": "unsafe"}}""");
        assertThatThrownBy(() -> OnnxClassifierDetector.open(
                new OnnxClassifierSpec("x", model, tokenizer, RefusalLabel.named("refused"))))
                .hasMessageContaining("'refused'").hasMessageContaining("unsafe");
        assertThatThrownBy(() -> OnnxClassifierDetector.open(
                new OnnxClassifierSpec("x", model, tokenizer, RefusalLabel.index(2))))
                .hasMessageContaining("out of range");
        assertThat(RefusalLabel.parse("1")).isEqualTo(RefusalLabel.index(1));
        assertThat(RefusalLabel.parse("unsafe")).isEqualTo(RefusalLabel.named("unsafe"));
    }
}
