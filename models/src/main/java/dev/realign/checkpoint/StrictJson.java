package dev.realign.checkpoint;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * JSON parsing for checkpoint headers and indexes: strict UTF-8, no duplicate keys (a name listed twice
 * would otherwise silently keep the last entry), nothing after the value but whitespace.
 */
final class StrictJson {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private StrictJson() {}

    /** Parses {@code bytes} as one JSON value; {@code what} names the part of {@code file} in errors. */
    static JsonNode parse(Path file, String what, byte[] bytes) {
        String text;
        try {
            // Jackson would guess UTF-16/32 from the first bytes and replace bad sequences; the format says UTF-8.
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(file + ": " + what + " is not valid UTF-8", e);
        }
        try {
            JsonNode node = MAPPER.readTree(text);
            if (node == null || node.isMissingNode()) {
                throw CheckpointException.inFile(file, what + " is empty, expected a JSON object");
            }
            return node;
        } catch (JacksonException e) {
            // The original message without Jackson's source excerpt, which could be a 100 MiB header.
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new CheckpointException(file + ": " + what + " is not valid JSON" + where + ": "
                    + e.getOriginalMessage(), e);
        }
    }

    /** A JSON integer that fits a long and is not negative; {@code what} names it in errors. */
    static long nonNegativeLong(Path file, String tensor, String what, JsonNode node) {
        if (node == null || !node.isIntegralNumber()) {
            throw CheckpointException.inTensor(file, tensor, what + " is not an integer: " + node);
        }
        if (!node.canConvertToLong()) {
            throw CheckpointException.inTensor(file, tensor, what + " = " + node + " does not fit in a long");
        }
        long value = node.longValue();
        if (value < 0) {
            throw CheckpointException.inTensor(file, tensor, what + " is negative: " + value);
        }
        return value;
    }
}
