package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.SamplingParams;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.safety.RefusalDetector;
import dev.realign.safety.RefusalDetectors;
import dev.realign.safety.RefusalVerdict;
import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.adapters.UploadOptions;
import dev.realign.server.metrics.MonitoringOptions;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import dev.realign.server.safety.SafetyOptions;
import dev.realign.server.tenancy.Tenants;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real server on loopback: its /metrics agree with the responses its clients received. */
class MetricsEndToEndTest {
    /**
     * The tiny random model never writes "I'm sorry", so the keyword detector would judge every response
     * compliant and the refusal counters would only ever be tested at 0. This detector splits the noise
     * deterministically, so that a run has both verdicts.
     */
    private static final RefusalDetector PARITY = new RefusalDetector() {
        @Override
        public String name() {
            return "parity";
        }

        @Override
        public RefusalVerdict classify(String response) {
            boolean refused = Math.floorMod(response.hashCode(), 2) == 0;
            return new RefusalVerdict(refused, name(), refused ? 1 : 0);
        }
    };

    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)})? (\\S+)$");
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    static Path dir;
    static RealignServer server;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        Path modelDir = TestServer.writeModel(dir.resolve("model"), Architecture.QWEN2);
        ModelRegistry models = new ModelRegistry();
        models.add(LoadedModel.load(TestServer.MODEL_ID, modelDir, ai.djl.Device.cpu(), ComputeType.AUTO),
                ServingLimits.DEFAULTS);
        server = new RealignServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), models,
                Tenants.development(AdapterRoots.none()), new MonitoringOptions("127.0.0.1", 0, false),
                UploadOptions.DEFAULTS, SafetyOptions.of(new RefusalDetectors(PARITY.name(), List.of(PARITY)),
                        List.of())).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.shutdown(Duration.ofSeconds(10));
    }

    @Test
    void countersMatchTheVerdictsAndUsageOnTheResponses() throws Exception {
        assertThat(server.metricsPort()).isPositive();
        var stub = InferenceGrpc.newBlockingStub(channel);
        int requests = 10;
        int refused = 0;
        long promptTokens = 0;
        long completionTokens = 0;
        for (int i = 0; i < requests; i++) {
            List<GenerateResponse> messages = new ArrayList<>();
            stub.generate(GenerateRequest.newBuilder().setPrompt("Tell me about number " + i)
                    .setSampling(SamplingParams.newBuilder().setMaxTokens(3 + i % 4).setTemperature(1).setSeed(i))
                    .build()).forEachRemaining(messages::add);
            GenerateResponse last = messages.getLast();
            refused += last.getSafety().getRefused() ? 1 : 0;
            promptTokens += last.getUsage().getPromptTokens();
            completionTokens += last.getUsage().getCompletionTokens();
        }
        assertThatThrownBy(() -> stub.generate(GenerateRequest.newBuilder().setModel("no-such-model")
                .setPrompt("hi").build()).hasNext())
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThat(refused).as("the parity detector gives both verdicts").isBetween(1, requests - 1);

        // The observer runs just after the last message is sent: wait until the last request is counted.
        String text = scrapeUntil(t -> sum(t, "realign_requests_total", Map.of()) == requests + 1);
        Map<String, String> safety = Map.of("tenant", "default", "adapter", "base", "profile", "base:tiny");
        assertThat(sum(text, "realign_responses_total", Map.of())).isEqualTo(requests);
        assertThat(sum(text, "realign_responses_total", safety)).isEqualTo(requests);
        assertThat(sum(text, "realign_refusals_total", Map.of())).isEqualTo(refused);
        assertThat(sum(text, "realign_refusals_total", safety)).isEqualTo(refused);
        assertThat(sum(text, "realign_requests_total", Map.of("model", "tiny", "status", "OK"))).isEqualTo(requests);
        assertThat(sum(text, "realign_requests_total", Map.of("model", "unknown", "status", "NOT_FOUND")))
                .isEqualTo(1);
        assertThat(sum(text, "realign_prompt_tokens_total", Map.of("model", "tiny"))).isEqualTo(promptTokens);
        assertThat(sum(text, "realign_completion_tokens_total", Map.of("model", "tiny"))).isEqualTo(completionTokens);
        assertThat(sum(text, "realign_time_to_first_token_seconds_count", Map.of("model", "tiny"))).isEqualTo(requests);
        assertThat(sum(text, "realign_time_per_output_token_seconds_count", Map.of("model", "tiny")))
                .isEqualTo(requests);
        assertThat(text).contains("realign_time_to_first_token_seconds_bucket{");
        assertThat(sum(text, "realign_queue_depth", Map.of("model", "tiny"))).isZero();
        // A tenant that has queued shows 0 once its queue empties, rather than vanishing.
        assertThat(text).containsPattern("(?m)^realign_tenant_queue_depth\\{model=\"tiny\",tenant=\"default\"} 0");
        assertThat(sum(text, "realign_batch_size", Map.of("model", "tiny"))).isZero();
        for (String cache : List.of("realign_profile_cache_hits_total", "realign_profile_cache_misses_total",
                "realign_profile_cache_evictions_total", "realign_profile_cache_resident_bytes",
                "realign_profile_merge_seconds_total")) {
            assertThat(text).as(cache).containsPattern("(?m)^" + cache + "\\{model=\"tiny\"} ");
        }
    }

    @Test
    void healthzSaysOk() throws Exception {
        HttpResponse<String> health = get("/healthz");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).isEqualTo("ok\n");
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.metricsPort() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String scrapeUntil(java.util.function.Predicate<String> ready) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            HttpResponse<String> response = get("/metrics");
            assertThat(response.statusCode()).isEqualTo(200);
            if (ready.test(response.body()) || System.nanoTime() > deadline) {
                return response.body();
            }
            Thread.sleep(20);
        }
    }

    /** The sum of a metric's samples whose labels include {@code labels}. */
    private static double sum(String exposition, String name, Map<String, String> labels) {
        double total = 0;
        for (String line : exposition.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches() || !m.group(1).equals(name)) {
                continue;
            }
            String labelText = m.group(3) == null ? "" : m.group(3);
            boolean match = labels.entrySet().stream()
                    .allMatch(e -> labelText.contains(e.getKey() + "=\"" + e.getValue() + "\""));
            if (match) {
                total += Double.parseDouble(m.group(4));
            }
        }
        return total;
    }
}
