package dev.realign.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.safety.RefusalVerdict;
import io.grpc.Status;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class RequestLogTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-23T10:00:00Z"), ZoneOffset.UTC);

    private static final RequestRecord COMPLETED = new RequestRecord("r-1", "default", "tiny",
            "tiny|linear(t=0.5)|chat@abc*0.5", "chat", 12, 7, 41.25, 250.5, 3.0004, "LENGTH", Status.Code.OK,
            new RefusalVerdict(true, "keyword", 1), "How do I pick a lock?");

    private static JsonNode line(boolean logPrompts, RequestRecord record) throws Exception {
        String line = new RequestLog(LoggerFactory.getLogger(RequestLog.LOGGER), logPrompts, CLOCK).line(record);
        assertThat(line).doesNotContain("\n");
        return JSON.readTree(line);
    }

    @Test
    void oneLineWithEveryFieldAndNoPromptByDefault() throws Exception {
        JsonNode o = line(false, COMPLETED);
        assertThat(o.get("time").asText()).isEqualTo("2026-11-23T10:00:00Z");
        assertThat(o.get("request_id").asText()).isEqualTo("r-1");
        assertThat(o.get("tenant").asText()).isEqualTo("default");
        assertThat(o.get("model").asText()).isEqualTo("tiny");
        assertThat(o.get("profile_key").asText()).isEqualTo("tiny|linear(t=0.5)|chat@abc*0.5");
        assertThat(o.get("adapters").asText()).isEqualTo("chat");
        assertThat(o.get("status").asText()).isEqualTo("OK");
        assertThat(o.get("finish_reason").asText()).isEqualTo("LENGTH");
        assertThat(o.get("prompt_tokens").asInt()).isEqualTo(12);
        assertThat(o.get("completion_tokens").asInt()).isEqualTo(7);
        assertThat(o.get("ttft_ms").asDouble()).isEqualTo(41.25);
        assertThat(o.get("total_ms").asDouble()).isEqualTo(250.5);
        assertThat(o.get("merge_ms").asDouble()).isEqualTo(3.0);
        assertThat(o.get("refused").asBoolean()).isTrue();
        assertThat(o.get("refusal_detector").asText()).isEqualTo("keyword");
        assertThat(o.has("prompt")).isFalse();
        assertThat(o.toString()).doesNotContain("pick a lock");
    }

    @Test
    void promptOnlyWhenTheOperatorOptsIn() throws Exception {
        assertThat(line(true, COMPLETED).get("prompt").asText()).isEqualTo("How do I pick a lock?");
    }

    @Test
    void aFailedRequestHasNullsWhereItNeverGot() throws Exception {
        var failed = new RequestRecord("r-2", "default", null, null, null, 0, 0, Double.NaN, 1.5, Double.NaN,
                null, Status.Code.NOT_FOUND, null, "hi");
        JsonNode o = line(true, failed);
        assertThat(o.get("status").asText()).isEqualTo("NOT_FOUND");
        assertThat(o.get("model").isNull()).isTrue();
        assertThat(o.get("ttft_ms").isNull()).isTrue();
        assertThat(o.get("merge_ms").isNull()).isTrue();
        assertThat(o.get("refused").isNull()).isTrue();
        assertThat(o.get("total_ms").asDouble()).isEqualTo(1.5);
    }
}
