package dev.realign.safety.prompts;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads preference data for SOMF: JSONL, one {@code {"prompt", "chosen", "rejected"}} object per line, the field
 * names TRL's and HH-RLHF's preference sets use. Every problem names the file and line.
 */
public final class PreferenceSets {
    private PreferenceSets() {}

    /**
     * @throws PromptSetException for a missing or unreadable file, a malformed line, a pair whose answers are
     *                            equal (DPO learns nothing from it), or a file without pairs
     */
    public static List<PreferenceExample> load(Path file) {
        List<PreferenceExample> pairs = new ArrayList<>();
        for (JsonlObjects.Line line : JsonlObjects.read(file)) {
            String prompt = JsonlObjects.requiredText(file, line, "prompt");
            String chosen = JsonlObjects.requiredText(file, line, "chosen");
            String rejected = JsonlObjects.requiredText(file, line, "rejected");
            if (chosen.equals(rejected)) {
                throw new PromptSetException(file, line.number(), "'chosen' and 'rejected' are the same answer");
            }
            pairs.add(new PreferenceExample(prompt, chosen, rejected, line.number()));
        }
        if (pairs.isEmpty()) {
            throw new PromptSetException(file, 0, "holds no preference pairs");
        }
        return pairs;
    }
}
