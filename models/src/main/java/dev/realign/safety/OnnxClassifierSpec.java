package dev.realign.safety;

import java.nio.file.Path;
import java.util.Objects;

/**
 * An operator's ONNX sequence classifier used as a refusal detector.
 *
 * @param name      the detector's name, as clients select it
 * @param model     the {@code .onnx} file; inputs {@code input_ids} and optionally {@code attention_mask} and
 *                  {@code token_type_ids} (int64, (batch, seq)); first output the logits, (batch, labels)
 * @param tokenizer the model's {@code tokenizer.json}
 * @param refusal   which label means "refused": an index into the logits, or a name looked up in the
 *                  {@code id2label} of the {@code config.json} beside the model
 * @param threshold the probability of that label from which a response counts as refused, in (0, 1)
 * @param maxTokens tokens read per response (longer ones are cut at the end), at least 2
 */
public record OnnxClassifierSpec(String name, Path model, Path tokenizer, RefusalLabel refusal, double threshold,
                                 int maxTokens) {
    public static final int DEFAULT_MAX_TOKENS = 512;

    public OnnxClassifierSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(refusal, "refusal");
        if (name.isBlank()) {
            throw new IllegalArgumentException("an ONNX classifier detector needs a name");
        }
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("detector '" + name + "': threshold must be in (0, 1), got " + threshold);
        }
        if (maxTokens < 2) {
            throw new IllegalArgumentException("detector '" + name + "': maxTokens must be at least 2, got " + maxTokens);
        }
    }

    /** Threshold 0.5, {@value #DEFAULT_MAX_TOKENS} tokens. */
    public OnnxClassifierSpec(String name, Path model, Path tokenizer, RefusalLabel refusal) {
        this(name, model, tokenizer, refusal, 0.5, DEFAULT_MAX_TOKENS);
    }

    /** The label of a classifier's outputs that means "refused". */
    public sealed interface RefusalLabel {
        /** The logit at this index. */
        record Index(int index) implements RefusalLabel {
            public Index {
                if (index < 0) {
                    throw new IllegalArgumentException("refusal label index must not be negative, got " + index);
                }
            }
        }

        /** The label of this name in the model's {@code config.json} {@code id2label}. */
        record Named(String label) implements RefusalLabel {
            public Named {
                if (label == null || label.isBlank()) {
                    throw new IllegalArgumentException("refusal label name must not be blank");
                }
            }
        }

        static RefusalLabel index(int index) {
            return new Index(index);
        }

        static RefusalLabel named(String label) {
            return new Named(label);
        }

        /** For configuration files: digits are an index, anything else a label name. */
        static RefusalLabel parse(String text) {
            return text.strip().matches("\\d+") ? new Index(Integer.parseInt(text.strip())) : new Named(text.strip());
        }
    }
}
