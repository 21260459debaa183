package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.ClassifyRequest;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.GetMetricsRequest;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.RefusalCount;
import dev.realign.api.v1.SafetyGrpc;
import dev.realign.api.v1.SafetyVerdict;
import dev.realign.api.v1.SamplingParams;
import dev.realign.merge.RandomLora;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.safety.KeywordDetector;
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
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code Safety.Classify} and {@code Safety.GetMetrics}, and verdicts given off the decode loop. */
class SafetyServiceTest {
    /**
     * The server's default detector: it refuses texts starting with a marker the test chooses, and while
     * {@link #gate} is closed it blocks, the way a slow learned detector would.
     */
    static final class GatedDetector implements RefusalDetector {
        volatile CountDownLatch gate = new CountDownLatch(0);

        @Override
        public String name() {
            return "gated";
        }

        @Override
        public RefusalVerdict classify(String response) {
            try {
                gate.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            boolean refused = Math.floorMod(response.hashCode(), 2) == 0;
            return new RefusalVerdict(refused, name(), refused ? 0.9f : 0.1f);
        }
    }

    @TempDir
    static Path dir;
    static final GatedDetector GATED = new GatedDetector();
    static RealignServer server;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        Path modelDir = TestServer.writeModel(dir.resolve("model"), Architecture.QWEN2);
        ModelRegistry models = new ModelRegistry();
        LoadedModel model = LoadedModel.load(TestServer.MODEL_ID, modelDir, ai.djl.Device.cpu(), ComputeType.AUTO);
        models.add(model, new ServingLimits(4, 64, 256, 1, 16));
        models.resolve("").adapters().load("task", RandomLora.write(dir.resolve("lora"), model.weights(),
                RandomLora.ALL_PROJECTIONS, 4, 8, 0.3, 5));
        String name = InProcessServerBuilder.generateName();
        server = new RealignServer(InProcessServerBuilder.forName(name), models,
                Tenants.development(AdapterRoots.none()), MonitoringOptions.LOG_ONLY, UploadOptions.DEFAULTS,
                SafetyOptions.of(new RefusalDetectors(GATED.name(), List.of(GATED, new KeywordDetector())),
                        List.of())).start();
        channel = InProcessChannelBuilder.forName(name).build();
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.shutdown(Duration.ofSeconds(10));
    }

    private static SafetyGrpc.SafetyBlockingStub safety() {
        return SafetyGrpc.newBlockingStub(channel);
    }

    @Test
    void classifiesABatchWithTheNamedOrDefaultDetector() {
        List<String> texts = List.of("I'm sorry, I can't help with that.", "Sure! 3 km is 3000 m.",
                "Lock picking is illegal in some places, but here is how locks work:");
        List<SafetyVerdict> keyword = safety().classify(ClassifyRequest.newBuilder().setDetector("keyword")
                .addAllTexts(texts).build()).getVerdictsList();
        assertThat(keyword).extracting(SafetyVerdict::getRefused).containsExactly(true, false, true);
        assertThat(keyword).extracting(SafetyVerdict::getDetector).containsOnly("keyword");
        List<SafetyVerdict> byDefault = safety().classify(ClassifyRequest.newBuilder().addAllTexts(texts).build())
                .getVerdictsList();
        assertThat(byDefault).extracting(SafetyVerdict::getDetector).containsOnly("gated");
        assertThat(byDefault).extracting(SafetyVerdict::getRefused).containsExactlyElementsOf(
                texts.stream().map(t -> GATED.classify(t).refused()).toList());
    }

    @Test
    void classifyRejectsBadRequestsNamingTheField() {
        assertInvalid(ClassifyRequest.newBuilder().setDetector("semantic").addTexts("x"),
                "detector: unknown refusal detector 'semantic'; configured: [gated, keyword]");
        assertInvalid(ClassifyRequest.newBuilder(), "texts: give at least one text");
        assertInvalid(ClassifyRequest.newBuilder().addAllTexts(Collections.nCopies(1025, "x")),
                "texts: 1025 texts, at most 1024");
        assertInvalid(ClassifyRequest.newBuilder().addTexts("ok").addTexts("x".repeat(65 * 1024)),
                "texts[1] has 66560 characters");
    }

    private static void assertInvalid(ClassifyRequest.Builder request, String message) {
        assertThatThrownBy(() -> safety().classify(request.build())).isInstanceOfSatisfying(
                StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains(message);
                });
    }

    private static GenerateRequest generate(double ratio, int maxTokens) {
        var request = GenerateRequest.newBuilder().setPrompt("Tell me about merging")
                .setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(maxTokens));
        if (ratio >= 0) {
            request.setProfile(MergeProfile.newBuilder().addAdapters(
                    AdapterWeight.newBuilder().setName("task").setWeight(ratio)));
        }
        return request.build();
    }

    @Test
    void metricsCountVerdictsPerProfileWithTheTenantsAdapterNames() {
        GenerateResponse base = last(generate(-1, 5));
        GenerateResponse half1 = last(generate(0.5, 5));
        GenerateResponse half2 = last(generate(0.5, 7));
        List<RefusalCount> all = safety().getMetrics(GetMetricsRequest.getDefaultInstance()).getCountsList();
        RefusalCount half = all.stream().filter(c -> c.getProfileKey().equals(half1.getProfileKey())).findFirst()
                .orElseThrow();
        assertThat(half.getAdapter()).isEqualTo("task");
        assertThat(half.getTenant()).isEqualTo("default");
        assertThat(half.getResponses()).isGreaterThanOrEqualTo(2);
        assertThat(all).anySatisfy(c -> assertThat(c.getProfileKey()).isEqualTo(base.getProfileKey()));
        long refusedNow = List.of(half1, half2).stream().filter(r -> r.getSafety().getRefused()).count();
        assertThat(half.getRefusals()).isGreaterThanOrEqualTo(refusedNow);
        assertThat(half.getRefusalRate()).isEqualTo((double) half.getRefusals() / half.getResponses());

        List<RefusalCount> onlyTask = safety().getMetrics(GetMetricsRequest.newBuilder().setAdapter("task").build())
                .getCountsList();
        assertThat(onlyTask).isNotEmpty().allSatisfy(c -> assertThat(c.getAdapter()).isEqualTo("task"));
        assertThat(safety().getMetrics(GetMetricsRequest.newBuilder().setProfileKey(half1.getProfileKey()).build())
                .getCountsList()).singleElement().extracting(RefusalCount::getProfileKey).isEqualTo(half1.getProfileKey());
    }

    private static GenerateResponse last(GenerateRequest request) {
        List<GenerateResponse> out = new CopyOnWriteArrayList<>();
        InferenceGrpc.newBlockingStub(channel).generate(request).forEachRemaining(out::add);
        GenerateResponse last = out.getLast();
        assertThat(last.getSafety().getDetector()).isEqualTo("gated");
        return last;
    }

    /**
     * While the detector is stuck on one stream's verdict, another stream still gets every token: detection
     * does not run on the scheduler's decode loop.
     */
    @Test
    void aSlowDetectorDoesNotStallDecoding() throws Exception {
        GATED.gate = new CountDownLatch(1);
        try {
            Recorder first = new Recorder();
            InferenceGrpc.newStub(channel).generate(generate(-1, 4), first);
            assertThat(first.tokens.await(30, TimeUnit.SECONDS)).as("first stream's tokens").isTrue();
            Recorder second = new Recorder();
            InferenceGrpc.newStub(channel).generate(generate(0.5, 12), second);
            assertThat(second.tokens.await(30, TimeUnit.SECONDS)).as("second stream's tokens").isTrue();
            assertThat(first.done.getCount()).as("first stream still waits for its verdict").isEqualTo(1);
            GATED.gate.countDown();
            assertThat(first.done.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(second.done.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(first.messages.getLast().getSafety().getDetector()).isEqualTo("gated");
            assertThat(second.messages.getLast().getSafety().getDetector()).isEqualTo("gated");
        } finally {
            GATED.gate.countDown();
        }
    }

    /** Counts down {@code tokens} once every message but the verdict's has arrived (max_tokens - 1 of them). */
    private static final class Recorder implements StreamObserver<GenerateResponse> {
        final List<GenerateResponse> messages = new CopyOnWriteArrayList<>();
        final CountDownLatch tokens = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(1);

        @Override
        public void onNext(GenerateResponse value) {
            messages.add(value);
            if (!value.hasSafety()) {
                tokens.countDown();
            }
        }

        @Override
        public void onError(Throwable t) {
            done.countDown();
        }

        @Override
        public void onCompleted() {
            done.countDown();
        }
    }
}
