package dev.realign.safety.prompts;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opens prompt and preference files as UTF-8 text, turning every I/O failure into an error that names the file. */
final class TextFiles {
    /** Reads an open file's text. */
    @FunctionalInterface
    interface TextReader<T> {
        T read(BufferedReader reader) throws IOException;
    }

    private TextFiles() {}

    /** Opens {@code file} as UTF-8 for {@code reader}; a missing, unreadable or non-UTF-8 file names itself. */
    static <T> T read(Path file, TextReader<T> reader) {
        try (BufferedReader text = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return reader.read(text);
        } catch (NoSuchFileException e) {
            throw new PromptSetException(file, 0, "no such file");
        } catch (CharacterCodingException e) {
            throw new PromptSetException(file, 0, "not UTF-8 text", e);
        } catch (IOException e) {
            throw new PromptSetException(file, 0, "cannot read: " + e.getMessage(), e);
        }
    }
}
