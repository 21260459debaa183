package dev.realign.client.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.realign.api.v1.SweepPoint;
import dev.realign.api.v1.SweepRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A sweep as one JSON document: {@code request} (what was asked, in the API's own field names),
 * {@code points} and {@code recommendation}. Field names are snake_case like the proto's, so a script can
 * read the request and the points with the same vocabulary.
 */
public final class SweepJson {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Every field, also those at their default (a refusal floor of 0 was still a choice). */
    private static final JsonFormat.Printer PROTO = JsonFormat.printer()
            .preservingProtoFieldNames()
            .alwaysPrintFieldsWithNoPresence();

    private SweepJson() {
    }

    public static ObjectNode tree(SweepRequest request, SweepResults results) {
        ObjectNode root = JSON.createObjectNode();
        root.set("request", requestTree(request));
        var points = root.putArray("points");
        for (SweepPoint p : results.points()) {
            points.add(point(p, results.overRefusalMeasured()));
        }
        var recommendation = root.putObject("recommendation");
        recommendation.put("found", results.recommendation().getFound());
        if (results.recommendation().getFound()) {
            recommendation.set("point", point(results.recommendation().getPoint(), results.overRefusalMeasured()));
        } else {
            recommendation.put("reason", results.recommendation().getReason());
        }
        return root;
    }

    public static String render(SweepRequest request, SweepResults results) {
        try {
            return JSON.writeValueAsString(tree(request, results));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot render the sweep as JSON: " + e.getMessage(), e);
        }
    }

    /** @throws UncheckedIOException naming the file */
    public static void write(SweepRequest request, SweepResults results, Path file) {
        try {
            Files.writeString(file, render(request, results) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write JSON file " + file + ": " + e.getMessage(), e);
        }
    }

    private static ObjectNode point(SweepPoint p, boolean overRefusalMeasured) {
        ObjectNode node = JSON.createObjectNode();
        node.put("method", p.getMethod().name());
        node.put("ratio", p.getRatio());
        node.put("refusal_rate", p.getRefusalRate());
        if (overRefusalMeasured) {
            node.put("over_refusal_rate", p.getOverRefusalRate());
        } else {
            node.putNull("over_refusal_rate");
        }
        node.put("task_score", p.getTaskScore());
        node.put("tokens_per_second", p.getTokensPerSecond());
        node.put("profile_key", p.getProfileKey());
        return node;
    }

    private static JsonNode requestTree(SweepRequest request) {
        try {
            return JSON.readTree(PROTO.print(request));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("a SweepRequest that protobuf cannot print as JSON: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
