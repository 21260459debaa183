package dev.realign.safety.prompts;

import java.nio.file.Path;

/** A prompt set that cannot be used; the message names the file and, where there is one, the line. */
public final class PromptSetException extends RuntimeException {
    private final Path file;
    private final int line;

    /** @param line 1-based, or 0 when the problem is not on one line (a missing file, an empty set) */
    public PromptSetException(Path file, int line, String problem) {
        this(file, line, problem, null);
    }

    public PromptSetException(Path file, int line, String problem, Throwable cause) {
        super(file + (line > 0 ? " line " + line : "") + ": " + problem, cause);
        this.file = file;
        this.line = line;
    }

    public Path file() {
        return file;
    }

    public int line() {
        return line;
    }
}
