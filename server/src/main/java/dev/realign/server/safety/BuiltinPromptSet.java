package dev.realign.server.safety;

import dev.realign.safety.prompts.PromptSetFormat;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A prompt set the server ships or the operator configured, which any tenant may name in a sweep.
 *
 * @param format null = told by the file's extension and header
 */
public record BuiltinPromptSet(String name, Path file, PromptSetFormat format) {
    public BuiltinPromptSet {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(file, "file");
        if (name.isBlank()) {
            throw new IllegalArgumentException("a built-in prompt set needs a name");
        }
    }
}
