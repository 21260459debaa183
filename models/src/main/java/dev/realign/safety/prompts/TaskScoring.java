package dev.realign.safety.prompts;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * How a task answer is scored against its reference: 1 when it matches, 0 otherwise. Answers and references are
 * compared after stripping surrounding white space, since a model's trailing newline is not a wrong answer.
 */
public enum TaskScoring {
    /** The whole answer equals the reference. */
    EXACT {
        @Override
        public boolean matches(String answer, String reference) {
            return answer.strip().equals(reference.strip());
        }
    },
    /** The answer contains the reference (for answers that wrap the result in a sentence). */
    CONTAINS {
        @Override
        public boolean matches(String answer, String reference) {
            return answer.contains(reference.strip());
        }
    },
    /** The reference is a Java regular expression found somewhere in the answer. */
    REGEX {
        @Override
        public boolean matches(String answer, String reference) {
            return Pattern.compile(reference).matcher(answer).find();
        }
    };

    public abstract boolean matches(String answer, String reference);

    /** The scoring named {@code name} ("exact", "contains", "regex"; empty = exact). */
    public static TaskScoring named(String name) {
        if (name == null || name.isEmpty()) {
            return EXACT;
        }
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown task scoring '" + name + "'; known: exact, contains, regex");
        }
    }

    /**
     * Checks that every prompt of a task set can be scored: each has a reference, and with {@link #REGEX} each
     * reference compiles. Done before any generation, so a bad line fails the sweep at once, not after an hour.
     */
    public void check(java.nio.file.Path file, List<LabeledPrompt> prompts) {
        for (LabeledPrompt p : prompts) {
            if (!p.hasReference()) {
                throw new PromptSetException(file, p.line(), "a task prompt needs a non-empty 'reference' to be scored");
            }
            if (this == REGEX) {
                try {
                    Pattern.compile(p.reference());
                } catch (PatternSyntaxException e) {
                    throw new PromptSetException(file, p.line(), "reference is not a valid regular expression: "
                            + e.getDescription() + " near index " + e.getIndex());
                }
            }
        }
    }
}
