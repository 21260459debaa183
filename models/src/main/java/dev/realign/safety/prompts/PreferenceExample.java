package dev.realign.safety.prompts;

import java.util.Objects;

/**
 * One safety preference as a file holds it: a prompt, the answer to prefer (safe) and the one to reject
 * (compliant).
 *
 * @param line the line of the file it is on (1-based), for error messages
 */
public record PreferenceExample(String prompt, String chosen, String rejected, int line) {
    public PreferenceExample {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(chosen, "chosen");
        Objects.requireNonNull(rejected, "rejected");
    }
}
