package dev.realign.client.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BenchReportTest {

    private static final long MS = 1_000_000;
    private static final BenchPlan PLAN = new BenchPlan(4, 10, null, 0, List.of("p"), 8, null, null,
            List.of("a", "b"), List.of(0.0, 1.0), null);

    /** A stream that starts at {@code start} ms, gets its first token after {@code ttft} ms, then one per {@code gap} ms. */
    private static RequestOutcome stream(long start, long ttft, long gap, int tokens) {
        var chunks = new ArrayList<Long>();
        for (int t = 0; t < tokens; t++) {
            chunks.add((start + ttft + t * gap) * MS);
        }
        return new RequestOutcome(start * MS, chunks, chunks.getLast() + MS, tokens, null);
    }

    @Test
    void percentilesThroughputAndErrorsFromKnownTimings() {
        var outcomes = new ArrayList<RequestOutcome>();
        for (int i = 1; i <= 10; i++) {
            outcomes.add(stream(0, 10 * i, 5, 11)); // TTFT 10..100 ms, ten 5 ms gaps each
        }
        outcomes.add(stream(0, 20, 300, 2)); // one slow gap of 300 ms
        outcomes.add(new RequestOutcome(0, List.of(), 50 * MS, 0, Status.Code.RESOURCE_EXHAUSTED));
        outcomes.add(new RequestOutcome(0, List.of(), 60 * MS, 0, Status.Code.RESOURCE_EXHAUSTED));
        outcomes.add(new RequestOutcome(0, List.of(400 * MS), 999 * MS, 1, Status.Code.DEADLINE_EXCEEDED));

        var report = BenchReport.of(PLAN, outcomes);

        assertThat(report.requests()).isEqualTo(14);
        assertThat(report.completed()).isEqualTo(11);
        assertThat(report.errors()).containsExactly(
                java.util.Map.entry("DEADLINE_EXCEEDED", 1L), java.util.Map.entry("RESOURCE_EXHAUSTED", 2L));
        assertThat(report.errorCount(Status.Code.RESOURCE_EXHAUSTED)).isEqualTo(2);
        assertThat(report.profiles()).isEqualTo(4);
        assertThat(report.completionTokens()).isEqualTo(10 * 11 + 2 + 1);
        // The last stream ends at 100 + 10 * 5 + 1 = 151 ms; the deadline one at 999 ms.
        assertThat(report.wallSeconds()).isCloseTo(0.999, within(1e-9));
        assertThat(report.tokensPerSecond()).isCloseTo(113 / 0.999, within(1e-6));
        assertThat(report.requestsPerSecond()).isCloseTo(11 / 0.999, within(1e-6));
        // TTFTs: 10, 20 (twice), 30, ..., 100 and 400: 12 samples; the 6th is 50, the 12th is 400.
        assertThat(report.timeToFirstToken()).isEqualTo(new Latency(50, 400, 12));
        // 100 gaps of 5 ms and one of 300 ms: p50 = 5, p99 (the 100th of 101) = 5, the max is 300.
        assertThat(report.tokenGap()).isEqualTo(new Latency(5, 5, 101));
    }

    @Test
    void emptyRunReportsZerosNotDivisionsByZero() {
        var report = BenchReport.of(PLAN, List.of());
        assertThat(report.requests()).isZero();
        assertThat(report.tokensPerSecond()).isZero();
        assertThat(report.timeToFirstToken().samples()).isZero();
        assertThat(report.toText()).contains("time to first token  n/a");
    }

    @Test
    void textAndJsonCarryTheSameNumbers() throws Exception {
        var report = BenchReport.of(PLAN, List.of(stream(0, 100, 10, 11),
                new RequestOutcome(0, List.of(), 10 * MS, 0, Status.Code.NOT_FOUND)));

        assertThat(report.toText()).contains("throughput           54.7 tokens/s", "errors NOT_FOUND     1",
                "time to first token  p50 100.00 ms, p99 100.00 ms", "per-token latency    p50 10.00 ms");
        var json = new ObjectMapper().readTree(report.toJson());
        assertThat(json.get("tokensPerSecond").asDouble()).isCloseTo(11 / 0.201, within(1e-9));
        assertThat(json.get("errors").get("NOT_FOUND").asLong()).isEqualTo(1);
        assertThat(json.get("timeToFirstToken").get("p99Ms").asDouble()).isEqualTo(100.0);
        assertThat(json.get("tokenGap").get("samples").asInt()).isEqualTo(10);
    }
}
