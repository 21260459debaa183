package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.SamplingParams;
import dev.realign.merge.RandomLora;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.server.models.ModelRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Generate with per-request merge profiles: ratios, caching, hot swap and bad profiles. */
class ProfileServingTest {
    @TempDir
    static Path dir;
    static TestServer server;
    static ModelRegistry.Entry entry;
    static Path loraV1;
    static Path loraV2;

    @BeforeAll
    static void start() throws Exception {
        server = new TestServer(TestServer.writeModel(dir.resolve("model"), Architecture.LLAMA3), 8, 64);
        entry = server.server.models().resolve("");
        loraV1 = RandomLora.write(dir.resolve("v1"), server.model.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.1, 1);
        loraV2 = RandomLora.write(dir.resolve("v2"), server.model.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.1, 2);
        entry.adapters().load("task", loraV1);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static GenerateRequest request(MergeProfile.Builder profile, int maxTokens) {
        return GenerateRequest.newBuilder().setPrompt("Tell me about merging")
                .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens)).setProfile(profile).build();
    }

    private static MergeProfile.Builder ratio(double r) {
        return MergeProfile.newBuilder().addAdapters(AdapterWeight.newBuilder().setName("task").setWeight(r));
    }

    private static List<Integer> ids(List<GenerateResponse> stream) {
        List<Integer> ids = new ArrayList<>();
        stream.forEach(r -> ids.addAll(r.getTokenIdsList()));
        return ids;
    }

    @Test
    void ratioZeroIsTheBaseAndRatioOneTheFineTune() {
        List<Integer> base = ids(server.generate(request(MergeProfile.newBuilder(), 24)));
        List<GenerateResponse> zero = server.generate(request(ratio(0), 24));
        assertThat(ids(zero)).isEqualTo(base);
        assertThat(zero.getLast().getProfileKey()).contains("linear").contains("task@");
        List<Integer> one = ids(server.generate(request(ratio(1), 24)));
        assertThat(one).isNotEqualTo(base);
        // The unmerged LoRA profile and a materialized TIES merge at density 1 are the same model.
        List<Integer> ties = ids(server.generate(request(ratio(1).setMethod(MergeMethod.TIES).setDensity(1), 24)));
        assertThat(ties).isEqualTo(one);
    }

    @Test
    void concurrentRequestsForOneColdProfileMergeOnce() throws Exception {
        MergeProfile.Builder cold = ratio(0.6).setMethod(MergeMethod.DARE_LINEAR).setDensity(0.5).setSeed(77);
        long buildsBefore = entry.profiles().stats().builds();
        try (ExecutorService pool = Executors.newFixedThreadPool(32)) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<List<Integer>>> results = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    return ids(server.generate(request(cold, 4)));
                }));
            }
            go.countDown();
            List<Integer> first = results.getFirst().get(120, TimeUnit.SECONDS);
            for (Future<List<Integer>> r : results) {
                assertThat(r.get(120, TimeUnit.SECONDS)).isEqualTo(first);
            }
        }
        assertThat(entry.profiles().stats().builds() - buildsBefore).isEqualTo(1);
    }

    @Test
    void aHotSwapLetsRunningRequestsFinishOnTheirVersion() throws Exception {
        entry.adapters().load("swap", loraV1);
        MergeProfile.Builder profile = MergeProfile.newBuilder()
                .addAdapters(AdapterWeight.newBuilder().setName("swap").setWeight(0.8));
        List<Integer> soloV1 = ids(server.generate(request(profile, 120)));
        String keyV1 = server.generate(request(profile, 1)).getLast().getProfileKey();

        CountDownLatch started = new CountDownLatch(1);
        List<GenerateResponse> running = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Status> ended = new CompletableFuture<>();
        InferenceGrpc.newStub(server.channel).generate(request(profile, 120), new StreamObserver<>() {
            @Override
            public void onNext(GenerateResponse value) {
                running.add(value);
                started.countDown();
            }

            @Override
            public void onError(Throwable t) {
                ended.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                ended.complete(Status.OK);
            }
        });
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
        entry.adapters().load("swap", loraV2);

        assertThat(ended.get(60, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
        assertThat(ids(running)).isEqualTo(soloV1);
        assertThat(running.getLast().getProfileKey()).isEqualTo(keyV1);
        String keyV2 = server.generate(request(profile, 1)).getLast().getProfileKey();
        assertThat(keyV2).isNotEqualTo(keyV1);
        assertThat(entry.adapters().get("swap").orElseThrow().version()).isEqualTo(2);
    }

    @Test
    void anUnloadedAdapterLeavesTheCacheAndIsFreed() {
        entry.adapters().load("gone", loraV2);
        MergeProfile.Builder profile = MergeProfile.newBuilder()
                .addAdapters(AdapterWeight.newBuilder().setName("gone").setWeight(0.4));
        String key = server.generate(request(profile, 2)).getLast().getProfileKey();
        String hash = entry.adapters().get("gone").orElseThrow().source().contentHash();
        assertThat(entry.adapters().unload("gone")).isTrue();
        // The cached unmerged profile held the version; unloading dropped the profile (Caffeine's removal
        // listener runs asynchronously), so the version is freed soon after.
        boolean freed = false;
        for (int i = 0; i < 200 && !freed; i++) {
            var still = entry.adapters().retain("gone", hash);
            still.ifPresent(dev.realign.server.adapters.AdapterVersion::close);
            freed = still.isEmpty();
            sleep(10);
        }
        assertThat(freed).isTrue();
        assertThat(key).contains("gone@");
    }

    @Test
    void badProfilesNameTheFieldAndLeaveTheServerServing() {
        assertStatus(MergeProfile.newBuilder().addAdapters(AdapterWeight.newBuilder().setName("ghost").setWeight(1)),
                Status.Code.NOT_FOUND, "profile.adapters[0].name: adapter 'ghost'");
        assertStatus(ratio(Double.NaN), Status.Code.INVALID_ARGUMENT, "profile.adapters[0].weight");
        assertStatus(ratio(1).setMethod(MergeMethod.TIES).setDensity(1.5), Status.Code.INVALID_ARGUMENT, "profile.density");
        assertStatus(ratio(1).setMethodValue(99), Status.Code.INVALID_ARGUMENT, "profile.method");
        assertStatus(ratio(1).addAdapters(AdapterWeight.newBuilder().setName("task").setWeight(1))
                .setMethod(MergeMethod.SLERP), Status.Code.INVALID_ARGUMENT, "profile.method slerp");
        assertStatus(ratio(1).setMethod(MergeMethod.LINEAR).setDensity(0.5), Status.Code.INVALID_ARGUMENT, "density");
        assertStatus(MergeProfile.newBuilder().setPreset("safe"), Status.Code.NOT_FOUND, "profile.preset 'safe'");

        Path otherBase = SyntheticModels.write(new SyntheticModelSpec(Architecture.LLAMA3, 96, 2, 4, 2, null, 128,
                SyntheticModels.TINY_VOCAB_SIZE, 512, dev.realign.checkpoint.DType.F32, 3), dir.resolve("other"));
        Path foreign;
        try (var other = dev.realign.model.LoadedModel.load("o", otherBase, ai.djl.Device.cpu(),
                dev.realign.model.ComputeType.AUTO)) {
            foreign = RandomLora.write(dir.resolve("foreign"), other.weights(), RandomLora.ALL_PROJECTIONS, 2, 4, 0.1, 3);
        }
        assertThatThrownBy(() -> entry.adapters().load("foreign", foreign))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("adapter 'foreign'").contains("model.layers.0");
                });
        assertThat(entry.adapters().get("foreign")).isEmpty();
        assertThat(ids(server.generate(request(ratio(0.5), 3)))).hasSize(3);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void assertStatus(MergeProfile.Builder profile, Status.Code code, String messagePart) {
        assertThatThrownBy(() -> server.generate(request(profile, 2)))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(code);
                    assertThat(e.getStatus().getDescription()).contains(messagePart);
                });
    }
}
