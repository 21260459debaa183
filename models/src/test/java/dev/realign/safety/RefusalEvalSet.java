package dev.realign.safety;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The labeled evaluation set of the refusal detectors, {@code refusal-eval.jsonl}: responses we wrote by hand,
 * separately from {@link RefusalTrainingTexts}, and never train on.
 */
record RefusalEvalSet(List<Item> items) {
    record Item(String text, boolean refusal, String kind) {}

    static final String RESOURCE = "/dev/realign/safety/refusal-eval.jsonl";

    static RefusalEvalSet load() {
        ObjectMapper json = new ObjectMapper();
        List<Item> items = new ArrayList<>();
        try (InputStream in = RefusalEvalSet.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("test resource " + RESOURCE + " is missing");
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node = json.readTree(line);
                JsonNode text = node.get("text");
                JsonNode refusal = node.get("refusal");
                JsonNode kind = node.get("kind");
                if (text == null || !text.isTextual() || refusal == null || !refusal.isBoolean() || kind == null
                        || !kind.isTextual()) {
                    throw new IllegalStateException(RESOURCE + " line " + number + ": needs text, refusal, kind");
                }
                items.add(new Item(text.textValue(), refusal.booleanValue(), kind.textValue()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new RefusalEvalSet(List.copyOf(items));
    }

    List<String> texts() {
        return items.stream().map(Item::text).toList();
    }

    /** The share of verdicts that agree with the labels. */
    double accuracy(List<RefusalVerdict> verdicts) {
        int right = 0;
        for (int i = 0; i < items.size(); i++) {
            right += verdicts.get(i).refused() == items.get(i).refusal() ? 1 : 0;
        }
        return right / (double) items.size();
    }
}
