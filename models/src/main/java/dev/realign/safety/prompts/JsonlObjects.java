package dev.realign.safety.prompts;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a JSONL file as one JSON object per non-blank line, each kept with its 1-based line number, and the text
 * fields of such an object; every problem is a {@link PromptSetException} naming the file and the line.
 */
final class JsonlObjects {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One object and the line it is on. */
    record Line(int number, JsonNode object) {}

    private JsonlObjects() {}

    /** Reads {@code file} (UTF-8); a missing or unreadable file names itself. */
    static List<Line> read(Path file) {
        return TextFiles.read(file, reader -> read(file, reader));
    }

    static List<Line> read(Path file, BufferedReader reader) throws IOException {
        List<Line> lines = new ArrayList<>();
        int number = 0;
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            number++;
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new PromptSetException(file, number, "not valid JSON: " + e.getOriginalMessage());
            }
            if (!node.isObject()) {
                throw new PromptSetException(file, number, "expected a JSON object, found " + node.getNodeType());
            }
            lines.add(new Line(number, node));
        }
        return lines;
    }

    /** The field's text; missing, null or blank is an error. */
    static String requiredText(Path file, Line line, String field) {
        String value = optionalText(file, line, field);
        if (value.isBlank()) {
            throw new PromptSetException(file, line.number(), "field '" + field + "' is missing or empty");
        }
        return value;
    }

    /** The field's text, "" when missing or null; any other non-string is an error. */
    static String optionalText(Path file, Line line, String field) {
        JsonNode value = line.object().get(field);
        if (value == null || value.isNull()) {
            return "";
        }
        if (!value.isTextual()) {
            throw new PromptSetException(file, line.number(), "field '" + field + "' must be a string, found "
                    + value.getNodeType());
        }
        return value.asText();
    }
}
