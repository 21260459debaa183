package dev.realign.safety.prompts;

import java.util.Objects;

/**
 * One prompt of an evaluation set, as a loader read it.
 *
 * @param prompt    the user's request, as the model will see it
 * @param reference what a task answer is scored against (AdvBench's target, a JSONL reference); "" when the
 *                  format has none
 * @param category  the set's own category (HarmBench's semantic category, XSTest's type); "" when none
 * @param label     the set's safety label where it has one (XSTest: "safe" or "unsafe"); "" when none
 * @param line      the line of the file the prompt starts on (1-based), for error messages
 */
public record LabeledPrompt(String prompt, String reference, String category, String label, int line) {
    public static final String SAFE = "safe";
    public static final String UNSAFE = "unsafe";

    public LabeledPrompt {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(reference, "reference");
        Objects.requireNonNull(category, "category");
        Objects.requireNonNull(label, "label");
    }

    public boolean hasReference() {
        return !reference.isEmpty();
    }
}
