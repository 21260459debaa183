package dev.realign.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.api.v1.ChatMessage;
import dev.realign.api.v1.ChatMessages;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.generate.FinishReason;
import dev.realign.merge.ProfileKey;
import dev.realign.safety.RefusalVerdict;
import dev.realign.server.metrics.RequestRecord;
import dev.realign.server.schedule.Completion;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class RequestTraceTest {
    private final List<RequestRecord> records = new ArrayList<>();

    @Test
    void aCompletedRequestNamesItsAdaptersProfileAndVerdictOnce() {
        var key = new ProfileKey("tiny", "linear", new TreeMap<>(), List.of(
                new ProfileKey.Member("chat", "abc", 0.5, Double.NaN),
                new ProfileKey.Member("code", "def", 0.25, Double.NaN)));
        var request = GenerateRequest.newBuilder().setMessages(ChatMessages.newBuilder()
                .addMessages(ChatMessage.newBuilder().setRole("system").setContent("Be brief."))
                .addMessages(ChatMessage.newBuilder().setRole("user").setContent("Hi"))).build();
        var trace = new RequestTrace(records::add, "r-1", "default", System.nanoTime(), request);
        trace.resolved("tiny", key, 9);
        trace.merged(12.5);
        var verdict = new RefusalVerdict(true, "keyword", 1);
        trace.completed(new Completion(FinishReason.STOP, 9, 4, 20, 60, 7), verdict);
        trace.failed(Status.Code.INTERNAL, 4, 20); // a late error after completion must not count twice

        assertThat(records).singleElement().satisfies(r -> {
            assertThat(r.adapters()).isEqualTo("chat+code");
            assertThat(r.profileKey()).isEqualTo(key.canonical());
            assertThat(r.model()).isEqualTo("tiny");
            assertThat(r.status()).isEqualTo(Status.Code.OK);
            assertThat(r.finishReason()).isEqualTo("STOP");
            assertThat(r.promptTokens()).isEqualTo(9);
            assertThat(r.completionTokens()).isEqualTo(4);
            assertThat(r.mergeTimeMs()).isEqualTo(12.5);
            assertThat(r.verdict()).isEqualTo(verdict);
            assertThat(r.prompt()).isEqualTo("system: Be brief.\nuser: Hi");
        });
    }

    @Test
    void aRequestRejectedBeforeResolutionHasNoModelProfileOrVerdict() {
        var trace = new RequestTrace(records::add, "r-2", "default", System.nanoTime(),
                GenerateRequest.newBuilder().setModel("nope").setPrompt("hello").build());
        trace.failed(Status.Code.NOT_FOUND, 0, Double.NaN);

        assertThat(records).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(r.model()).isNull();
            assertThat(r.profileKey()).isNull();
            assertThat(r.verdict()).isNull();
            assertThat(r.mergeTimeMs()).isNaN();
            assertThat(r.totalTimeMs()).isNotNegative();
            assertThat(r.prompt()).isEqualTo("hello");
        });
    }

    @Test
    void theBaseProfileIsLabelledBase() {
        var trace = new RequestTrace(records::add, "r-3", "default", System.nanoTime(),
                GenerateRequest.newBuilder().setPrompt("x").build());
        trace.resolved("tiny", ProfileKey.base("tiny"), 1);
        trace.failed(Status.Code.CANCELLED, 2, 5);
        assertThat(records.getFirst().adapters()).isEqualTo(RequestRecord.BASE_ADAPTERS);
        assertThat(records.getFirst().completionTokens()).isEqualTo(2);
    }
}
