package dev.realign.client.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.MergeMethod;
import dev.realign.client.Chunks;
import dev.realign.client.ClientOptions;
import dev.realign.client.FakeRealignServer;
import dev.realign.client.RealignClient;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoadGeneratorTest {

    private final FakeRealignServer server = new FakeRealignServer().respond(Chunks.all());
    private final RealignClient client = RealignClient.owning(server.newChannel(), ClientOptions.defaults());

    @AfterEach
    void close() {
        client.close();
        server.close();
    }

    private static BenchPlan plan(int concurrency, int requests, List<String> adapters, List<Double> ratios) {
        return new BenchPlan(concurrency, requests, null, 0, List.of("one", "two", "three"), 16, null, null,
                adapters, ratios, null);
    }

    @Test
    void sendsExactlyTheRequestCountAndCountsTheServersTokens() {
        var report = new LoadGenerator(client).run(plan(3, 10, List.of(), List.of()));

        assertThat(server.requests).hasSize(10);
        assertThat(report.requests()).isEqualTo(10);
        assertThat(report.completed()).isEqualTo(10);
        assertThat(report.errors()).isEmpty();
        // Usage says 4 completion tokens per request (the chunks carry 4 ids too).
        assertThat(report.completionTokens()).isEqualTo(40);
        assertThat(report.timeToFirstToken().samples()).isEqualTo(10);
        assertThat(report.tokenGap().samples()).isEqualTo(20); // three token chunks: two gaps each
        assertThat(server.requests).allSatisfy(r -> {
            assertThat(r.getSampling().getMaxTokens()).isEqualTo(16);
            assertThat(r.hasProfile()).as("no adapter: the base model").isFalse();
        });
        assertThat(server.requests.stream().map(GenerateRequest::getPrompt).collect(Collectors.toSet()))
                .containsExactlyInAnyOrder("one", "two", "three");
    }

    @Test
    void warmupRequestsAreSentButNotReported() {
        var withWarmup = new BenchPlan(2, 5, null, 3, List.of("p"), 4, null, null, List.of(), List.of(), null);

        var report = new LoadGenerator(client).run(withWarmup);

        assertThat(server.requests).hasSize(8);
        assertThat(report.requests()).isEqualTo(5);
    }

    @Test
    void everyAdapterAndRatioPairComesUpOncePerCycle() {
        // Two adapters and two ratios share a factor: pairing i mod 2 with i mod 2 would never send (a, 1).
        var report = new LoadGenerator(client).run(plan(2, 8, List.of("a", "b"), List.of(0.0, 1.0)));

        assertThat(report.profiles()).isEqualTo(4);
        Map<String, Long> pairs = server.requests.stream()
                .map(r -> r.getProfile().getAdapters(0).getName() + "@" + r.getProfile().getAdapters(0).getWeight())
                .collect(Collectors.groupingBy(p -> p, Collectors.counting()));
        assertThat(pairs).containsOnly(Map.entry("a@0.0", 2L), Map.entry("b@0.0", 2L), Map.entry("a@1.0", 2L),
                Map.entry("b@1.0", 2L));
    }

    @Test
    void methodAndSingleAdapterDefaultRatio() {
        var request = new BenchPlan(1, 1, null, 0, List.of("p"), 4, 0.7, "m", List.of("a"), List.of(),
                MergeMethod.TIES).request(0);

        assertThat(request.getModel()).isEqualTo("m");
        assertThat(request.getSampling().getTemperature()).isEqualTo(0.7);
        assertThat(request.getProfile().getMethod()).isEqualTo(MergeMethod.TIES);
        assertThat(request.getProfile().getAdapters(0).getWeight()).isEqualTo(1.0);
    }

    @Test
    void failuresAreTalliedByStatusCode() {
        server.failFor(r -> switch (r.getProfile().getAdapters(0).getName()) {
            case "missing" -> Status.NOT_FOUND.withDescription("no adapter 'missing'");
            case "busy" -> Status.RESOURCE_EXHAUSTED.withDescription("queue full");
            default -> null;
        });

        var report = new LoadGenerator(client).run(plan(4, 12, List.of("ok", "missing", "busy"), List.of(0.5)));

        assertThat(report.requests()).isEqualTo(12);
        assertThat(report.completed()).isEqualTo(4);
        assertThat(report.errorCount(Status.Code.NOT_FOUND)).isEqualTo(4);
        assertThat(report.errorCount(Status.Code.RESOURCE_EXHAUSTED)).isEqualTo(4);
        assertThat(report.completionTokens()).isEqualTo(16);
    }

    @Test
    void aStreamFailingMidwayKeepsTheTokensItGot() {
        server.failWith(Status.DEADLINE_EXCEEDED);

        var report = new LoadGenerator(client).run(plan(1, 2, List.of(), List.of()));

        assertThat(report.errors()).containsExactly(Map.entry("DEADLINE_EXCEEDED", 2L));
        assertThat(report.completionTokens()).as("the ids of three chunks, no usage").isEqualTo(8);
        assertThat(report.timeToFirstToken().samples()).isEqualTo(2);
    }

    @Test
    void timingsAreReadAsEachChunkArrives() {
        // A clock that moves 1 ms per reading: start, three chunks, end.
        var now = new AtomicLong();
        var generator = new LoadGenerator(client, () -> now.getAndAdd(1_000_000));

        var outcome = generator.send(plan(1, 1, List.of(), List.of()).request(0));

        assertThat(outcome.ttftNanos()).isEqualTo(1_000_000);
        assertThat(outcome.tokenChunkNanos()).containsExactly(1_000_000L, 2_000_000L, 3_000_000L);
        assertThat(outcome.endNanos()).isEqualTo(4_000_000);
        assertThat(outcome.completionTokens()).isEqualTo(4);
        assertThat(outcome.ok()).isTrue();
    }

    @Test
    void aDurationAloneEndsTheRun() {
        var timed = new BenchPlan(2, 0, Duration.ofMillis(200), 0, List.of("p"), 4, null, null, List.of(), List.of(),
                null);
        long start = System.nanoTime();

        var report = new LoadGenerator(client).run(timed);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        assertThat(report.requests()).isPositive().isEqualTo(server.requests.size());
    }

    @Test
    void aDurationHoldsOnANegativeClock() {
        // System.nanoTime may be negative; a duration bound must not overflow into "never start".
        var now = new AtomicLong(Long.MIN_VALUE / 2);
        var generator = new LoadGenerator(client, () -> now.getAndAdd(1_000_000));
        var timed = new BenchPlan(1, 0, Duration.ofMillis(50), 0, List.of("p"), 4, null, null, List.of(), List.of(),
                null);

        var report = generator.run(timed);

        // Each request reads the clock six times (loop check, start, three chunks, end): 6 ms per request.
        assertThat(report.requests()).isBetween(5, 12).isEqualTo(server.requests.size());
    }

    @Test
    void planRejectsRunsThatWouldNotEndAndMeaninglessOptions() {
        assertThatThrownBy(() -> new BenchPlan(1, 0, null, 0, List.of("p"), 4, null, null, List.of(), List.of(), null))
                .hasMessageContaining("must end");
        assertThatThrownBy(() -> new BenchPlan(0, 1, null, 0, List.of("p"), 4, null, null, List.of(), List.of(), null))
                .hasMessageContaining("concurrency");
        assertThatThrownBy(() -> new BenchPlan(1, 1, null, 0, List.of(), 4, null, null, List.of(), List.of(), null))
                .hasMessageContaining("prompt");
        assertThatThrownBy(() -> new BenchPlan(1, 1, null, 0, List.of("p"), 4, null, null, List.of(), List.of(0.5),
                null)).hasMessageContaining("adapter");
        assertThatThrownBy(() -> new BenchPlan(1, 1, null, 0, List.of("p"), 4, null, null, List.of("a"),
                List.of(Double.NaN), null)).hasMessageContaining("finite");
    }
}
