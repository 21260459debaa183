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
import ai.djl.util.Pair;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A refusal detector from any ONNX sequence classifier with a {@code tokenizer.json} (for example a refusal or
 * guard model the operator has), run by DJL's ONNX Runtime engine. P(refusal) is the softmax over the logits
 * at the refusal label, or the sigmoid of the one logit of a single-output classifier.
 *
 * <p>Responses are batched by similar length (up to {@value #MAX_BATCH}) and padded to the longest of their
 * batch with the tokenizer's pad token and attention mask 0: exact for a model that honours the mask, as
 * full-precision transformers do (a model that quantizes activations per tensor, like the semantic
 * detector's encoder, would shift slightly with its batch companions).
 *
 * <p>The model's inputs and output shape are checked when it is opened, with a probe forward pass, so a wrong
 * model fails at start-up rather than on the first response. Thread-safe (one predictor per call; the ONNX
 * Runtime session is shared); owns the session and the tokenizer and frees both in {@link #close()}.
 */
public final class OnnxClassifierDetector implements RefusalDetector {
    static final int MAX_BATCH = 32;
    private static final Set<String> KNOWN_INPUTS = Set.of("input_ids", "attention_mask", "token_type_ids");

    private final OnnxClassifierSpec spec;
    private final Model model;
    private final HuggingFaceTokenizer tokenizer;
    private final List<String> inputs;
    private final int labels;
    private final int refusalIndex;

    private OnnxClassifierDetector(OnnxClassifierSpec spec, Model model, HuggingFaceTokenizer tokenizer,
                                   List<String> inputs, int labels, int refusalIndex) {
        this.spec = spec;
        this.model = model;
        this.tokenizer = tokenizer;
        this.inputs = inputs;
        this.labels = labels;
        this.refusalIndex = refusalIndex;
    }

    /**
     * Opens the model and tokenizer of {@code spec} and checks them.
     *
     * @throws IllegalArgumentException naming the file when the model, tokenizer or config.json is missing or
     *                                  unusable, the inputs are not ones we can feed, the output is not
     *                                  (batch, labels), or the refusal label does not exist
     */
    public static OnnxClassifierDetector open(OnnxClassifierSpec spec) {
        requireFile(spec, spec.model(), "model");
        requireFile(spec, spec.tokenizer(), "tokenizer");
        Engine.getEngine("OnnxRuntime"); // before anything creates an OrtEnvironment (DESIGN §7)
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(spec.tokenizer(), Map.of(
                    "padding", "true", "truncation", "true", "maxLength", Integer.toString(spec.maxTokens())));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(where(spec) + "cannot load tokenizer " + spec.tokenizer() + ": "
                    + e.getMessage(), e);
        }
        Model model = Model.newInstance(spec.name(), Device.cpu(), "OnnxRuntime");
        try {
            model.load(spec.model());
            List<String> inputs = new ArrayList<>();
            for (Pair<String, Shape> input : model.describeInput()) {
                if (!KNOWN_INPUTS.contains(input.getKey())) {
                    throw new IllegalArgumentException(where(spec) + "model " + spec.model() + " has input '"
                            + input.getKey() + "'; a sequence classifier may take only " + KNOWN_INPUTS);
                }
                inputs.add(input.getKey());
            }
            if (!inputs.contains("input_ids")) {
                throw new IllegalArgumentException(where(spec) + "model " + spec.model() + " has no input 'input_ids'"
                        + " (inputs: " + inputs + ")");
            }
            // A probe forward pass learns the number of labels and checks the output's shape.
            int labels;
            try (Predictor<Encoding[], float[][]> predictor = model.newPredictor(new Logits(spec, List.copyOf(inputs)))) {
                labels = predictor.predict(tokenizer.batchEncode(List.of("probe")))[0].length;
            } catch (TranslateException e) {
                throw new IllegalArgumentException(where(spec) + "model " + spec.model() + " failed on a probe input: "
                        + e.getMessage(), e);
            }
            int refusalIndex = resolve(spec, labels);
            return new OnnxClassifierDetector(spec, model, tokenizer, List.copyOf(inputs), labels, refusalIndex);
        } catch (IOException e) {
            close(model, tokenizer);
            throw new UncheckedIOException(where(spec) + "cannot read model " + spec.model(), e);
        } catch (MalformedModelException e) {
            close(model, tokenizer);
            throw new IllegalArgumentException(where(spec) + "model " + spec.model() + " is not a valid ONNX model: "
                    + e.getMessage(), e);
        } catch (RuntimeException e) {
            close(model, tokenizer);
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            // ONNX Runtime reports an unparsable file as a plain runtime exception
            throw new IllegalArgumentException(where(spec) + "cannot load model " + spec.model() + ": " + e.getMessage(), e);
        }
    }

    private static void close(Model model, HuggingFaceTokenizer tokenizer) {
        try {
            model.close();
        } finally {
            tokenizer.close();
        }
    }

    private static String where(OnnxClassifierSpec spec) {
        return "refusal detector '" + spec.name() + "': ";
    }

    private static void requireFile(OnnxClassifierSpec spec, Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(where(spec) + what + " file " + file + " does not exist");
        }
    }

    /** The logit index of the refusal label, checked against the model's number of labels. */
    private static int resolve(OnnxClassifierSpec spec, int labels) {
        int index = switch (spec.refusal()) {
            case OnnxClassifierSpec.RefusalLabel.Index i -> i.index();
            case OnnxClassifierSpec.RefusalLabel.Named n -> lookUp(spec, n.label());
        };
        if (index >= labels) {
            throw new IllegalArgumentException(where(spec) + "refusal label index " + index + " is out of range: model "
                    + spec.model() + " outputs " + labels + " logit(s)");
        }
        return index;
    }

    private static int lookUp(OnnxClassifierSpec spec, String label) {
        Path parent = spec.model().toAbsolutePath().getParent();
        Path config = parent.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new IllegalArgumentException(where(spec) + "refusal label '" + label + "' is a name, but there is no "
                    + config + " with id2label to look it up; give the label's index instead");
        }
        JsonNode id2label;
        try {
            id2label = new ObjectMapper().readTree(config.toFile()).get("id2label");
        } catch (JacksonException e) {
            throw new IllegalArgumentException(where(spec) + config + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(where(spec) + "cannot read " + config, e);
        }
        if (id2label == null || !id2label.isObject()) {
            throw new IllegalArgumentException(where(spec) + config + " has no id2label object");
        }
        Map<Integer, String> names = new TreeMap<>();
        for (Map.Entry<String, JsonNode> entry : id2label.properties()) {
            try {
                names.put(Integer.parseInt(entry.getKey()), entry.getValue().asText());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where(spec) + config + ": id2label key '" + entry.getKey()
                        + "' is not an integer", e);
            }
        }
        return names.entrySet().stream()
                .filter(e -> e.getValue().equals(label))
                .map(Map.Entry::getKey)
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException(where(spec) + "refusal label '" + label
                        + "' is not in id2label of " + config + ": " + names));
    }

    @Override
    public String name() {
        return spec.name();
    }

    public OnnxClassifierSpec spec() {
        return spec;
    }

    /** How many logits the model outputs. */
    public int labels() {
        return labels;
    }

    @Override
    public RefusalVerdict classify(String response) {
        return classifyAll(List.of(response)).getFirst();
    }

    @Override
    public List<RefusalVerdict> classifyAll(List<String> responses) {
        RefusalVerdict[] verdicts = new RefusalVerdict[responses.size()];
        // Similar lengths share a batch, so little is padded.
        Integer[] order = new Integer[responses.size()];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparingInt(i -> responses.get(i).length()));
        try (Predictor<Encoding[], float[][]> predictor = model.newPredictor(new Logits(spec, inputs))) {
            for (int from = 0; from < order.length; from += MAX_BATCH) {
                int to = Math.min(order.length, from + MAX_BATCH);
                List<String> batch = new ArrayList<>(to - from);
                for (int k = from; k < to; k++) {
                    batch.add(responses.get(order[k]));
                }
                float[][] logits = predictor.predict(tokenizer.batchEncode(batch));
                for (int k = from; k < to; k++) {
                    double p = probability(logits[k - from], refusalIndex);
                    verdicts[order[k]] = new RefusalVerdict(p >= spec.threshold(), spec.name(), (float) p);
                }
            }
        } catch (TranslateException e) {
            throw new IllegalStateException(where(spec) + "model " + spec.model() + " failed: " + e.getMessage(), e);
        }
        return Arrays.asList(verdicts);
    }

    /** Softmax at {@code index} over several logits; the sigmoid of a single one. */
    static double probability(float[] logits, int index) {
        if (logits.length == 1) {
            return RefusalHead.sigmoid(logits[0]);
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return Math.exp(logits[index] - max) / sum;
    }

    @Override
    public void close() {
        close(model, tokenizer);
    }

    /** Encodings of equal (padded) length in, logits (batch, labels) out. */
    private record Logits(OnnxClassifierSpec spec, List<String> inputs)
            implements NoBatchifyTranslator<Encoding[], float[][]> {
        @Override
        public NDList processInput(TranslatorContext ctx, Encoding[] batch) {
            int rows = batch.length;
            int seq = batch[0].getIds().length;
            long[] ids = new long[rows * seq]; // (batch, seq)
            long[] mask = new long[rows * seq];
            long[] types = new long[rows * seq];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(batch[r].getIds(), 0, ids, r * seq, seq);
                System.arraycopy(batch[r].getAttentionMask(), 0, mask, r * seq, seq);
                System.arraycopy(batch[r].getTypeIds(), 0, types, r * seq, seq);
            }
            NDManager manager = ctx.getNDManager();
            Shape shape = new Shape(rows, seq);
            NDList list = new NDList();
            // In the model's declared order, by name.
            for (String input : inputs) {
                long[] values = switch (input) {
                    case "input_ids" -> ids;
                    case "attention_mask" -> mask;
                    default -> types;
                };
                NDArray array = manager.create(values, shape);
                array.setName(input);
                list.add(array);
            }
            return list;
        }

        @Override
        public float[][] processOutput(TranslatorContext ctx, NDList out) {
            NDArray logits = out.get(0);
            Shape shape = logits.getShape(); // (batch, labels)
            if (shape.dimension() != 2 || shape.get(1) < 1) {
                throw new IllegalArgumentException("refusal detector '" + spec.name() + "': model " + spec.model()
                        + " output '" + logits.getName() + "' has shape " + shape + ", expected (batch, labels)");
            }
            int batch = (int) shape.get(0);
            int labels = (int) shape.get(1);
            float[] flat = switch (logits.getDataType()) {
                case FLOAT32 -> logits.toFloatArray();
                case FLOAT64 -> {
                    double[] wide = logits.toDoubleArray();
                    float[] narrow = new float[wide.length];
                    for (int i = 0; i < wide.length; i++) {
                        narrow[i] = (float) wide[i];
                    }
                    yield narrow;
                }
                default -> throw new IllegalArgumentException("refusal detector '" + spec.name() + "': model "
                        + spec.model() + " output '" + logits.getName() + "' is " + logits.getDataType()
                        + ", expected float32 or float64 logits");
            };
            float[][] result = new float[batch][];
            for (int r = 0; r < batch; r++) {
                result[r] = Arrays.copyOfRange(flat, r * labels, (r + 1) * labels);
            }
            return result;
        }
    }
}
