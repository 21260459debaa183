package dev.realign.server.cli;

import dev.realign.safety.KeywordDetector;
import dev.realign.safety.OnnxClassifierDetector;
import dev.realign.safety.OnnxClassifierSpec;
import dev.realign.safety.RefusalDetector;
import dev.realign.safety.RefusalDetectors;
import dev.realign.safety.SemanticDetector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * Which refusal detectors a server loads, and which one gives every response its verdict. The keyword
 * detector is always there; the semantic one is loaded when asked for (it costs ~40 MiB and a second of
 * start-up); each {@code --onnx-classifier} adds an operator's classifier under its own name.
 */
final class DetectorOptions {
    private static final Set<String> SPEC_KEYS = Set.of("name", "model", "tokenizer", "label", "threshold",
            "max-tokens");

    @Option(names = "--detector", defaultValue = KeywordDetector.NAME,
            description = "Detector that judges every response: keyword, semantic or an --onnx-classifier's name "
                    + "(default: ${DEFAULT-VALUE})")
    String defaultDetector;

    @Option(names = "--semantic-detector",
            description = "Also load the semantic detector for Classify and sweeps (implied by --detector semantic)")
    boolean semantic;

    @Option(names = "--semantic-threshold", defaultValue = "" + SemanticDetector.DEFAULT_THRESHOLD,
            description = "P(refusal) from which the semantic detector says refused (default: ${DEFAULT-VALUE})")
    double semanticThreshold;

    @Option(names = "--onnx-classifier", paramLabel = "SPEC",
            description = "An ONNX sequence classifier as a detector; repeatable. SPEC: name=N,model=FILE.onnx,"
                    + "tokenizer=tokenizer.json[,label=INDEX|NAME][,threshold=T][,max-tokens=N] (label default 1, "
                    + "a name is looked up in the config.json beside the model; threshold default 0.5)")
    List<String> onnxClassifiers = new ArrayList<>();

    /** The configured detectors; the caller owns them (a server closes them when it stops). */
    RefusalDetectors load() {
        List<OnnxClassifierSpec> specs = new ArrayList<>();
        for (String spec : onnxClassifiers) {
            specs.add(parse(spec)); // every spec checked before any model is opened
        }
        List<RefusalDetector> detectors = new ArrayList<>();
        try {
            detectors.add(new KeywordDetector());
            if (semantic || SemanticDetector.NAME.equals(defaultDetector)) {
                detectors.add(SemanticDetector.loadBundled(semanticThreshold));
            }
            for (OnnxClassifierSpec spec : specs) {
                try {
                    detectors.add(OnnxClassifierDetector.open(spec));
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("--onnx-classifier " + spec.name() + ": " + e.getMessage(), e);
                }
            }
            return new RefusalDetectors(defaultDetector, detectors);
        } catch (RuntimeException e) {
            detectors.forEach(RefusalDetector::close);
            boolean named = e instanceof IllegalArgumentException && e.getMessage() != null
                    && e.getMessage().startsWith("--");
            throw named ? (IllegalArgumentException) e : new IllegalArgumentException("--detector: " + e.getMessage(), e);
        }
    }

    static OnnxClassifierSpec parse(String text) {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String part : text.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--onnx-classifier '" + text + "': '" + part
                        + "' is not KEY=VALUE");
            }
            String key = part.substring(0, eq).strip();
            if (!SPEC_KEYS.contains(key)) {
                throw new IllegalArgumentException("--onnx-classifier '" + text + "': unknown key '" + key
                        + "'; keys: name, model, tokenizer, label, threshold, max-tokens");
            }
            if (fields.put(key, part.substring(eq + 1).strip()) != null) {
                throw new IllegalArgumentException("--onnx-classifier '" + text + "': '" + key + "' given twice");
            }
        }
        for (String required : List.of("name", "model", "tokenizer")) {
            if (!fields.containsKey(required)) {
                throw new IllegalArgumentException("--onnx-classifier '" + text + "': '" + required + "' is required");
            }
        }
        try {
            return new OnnxClassifierSpec(fields.get("name"), Path.of(fields.get("model")),
                    Path.of(fields.get("tokenizer")), OnnxClassifierSpec.RefusalLabel.parse(fields.getOrDefault("label", "1")),
                    Double.parseDouble(fields.getOrDefault("threshold", "0.5")),
                    Integer.parseInt(fields.getOrDefault("max-tokens", "" + OnnxClassifierSpec.DEFAULT_MAX_TOKENS)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--onnx-classifier '" + text + "': " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--onnx-classifier '" + text + "': " + e.getMessage(), e);
        }
    }
}
