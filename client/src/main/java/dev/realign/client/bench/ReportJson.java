package dev.realign.client.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/** Jackson writes records by their components, so the JSON keys are the report's field names. */
final class ReportJson {

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private ReportJson() {
    }

    static String write(BenchReport report) {
        try {
            return MAPPER.writeValueAsString(report);
        } catch (JsonProcessingException e) {
            // Only numbers, strings and maps of them: nothing here can fail to serialize.
            throw new IllegalStateException("cannot write the report as JSON", e);
        }
    }
}
