package dev.realign.export;

import java.nio.file.Path;
import java.util.List;

/**
 * What an export wrote.
 *
 * @param file         the GGUF file
 * @param architecture {@code general.architecture} (llama, qwen2 or qwen3)
 * @param tensors      number of tensors in the file
 * @param bytes        file size
 * @param notes        things the user should know about the file: behaviour llama.cpp will show that differs
 *                     from Realign's in corner cases (for example an NFC normalizer llama.cpp does not apply)
 */
public record GgufExportResult(Path file, String architecture, int tensors, long bytes, List<String> notes) {
    public GgufExportResult {
        notes = List.copyOf(notes);
    }
}
