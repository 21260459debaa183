package dev.realign.client.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads JSONL prompt sets ({@code {"prompt": ..., "reference": ...}} per line), as models/demo/eval holds them. */
public final class EvalPrompts {
    private static final ObjectMapper JSON = new ObjectMapper();

    private EvalPrompts() {}

    /** @throws IllegalArgumentException naming the file and line of a malformed entry */
    public static List<EvalPrompt> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read prompt set " + file + ": " + e.getMessage(), e);
        }
        List<EvalPrompt> prompts = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            try {
                JsonNode node = JSON.readTree(lines.get(i));
                prompts.add(new EvalPrompt(text(node, "prompt"), text(node, "reference")));
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException(file + ": no prompts");
        }
        return prompts;
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node == null ? null : node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException("field '" + field + "' must be a string");
        }
        return value.asText();
    }
}
