package dev.realign.server.tenancy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GetAdapterRequest;
import dev.realign.api.v1.ListAdaptersRequest;
import dev.realign.api.v1.LoadAdapterRequest;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.SamplingParams;
import dev.realign.api.v1.UnloadAdapterRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.client.ClientOptions;
import dev.realign.client.GenerationHandle;
import dev.realign.client.GenerationResult;
import dev.realign.client.RealignClient;
import dev.realign.merge.RandomLora;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.server.RealignServer;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two tenants on a real Netty server over loopback, each with its own key, adapter root and adapters:
 * isolation, policy, presets, authentication and a configuration reload, all through the Java client.
 */
class TenantsEndToEndTest {
    @TempDir
    static Path dir;
    static Path configFile;
    static Tenants tenants;
    static RealignServer server;

    @BeforeAll
    static void start() throws Exception {
        Path modelDir = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 5), dir.resolve("model"));
        ModelRegistry models = new ModelRegistry();
        LoadedModel model = LoadedModel.load("tiny", modelDir, ai.djl.Device.cpu(), ComputeType.AUTO);
        models.add(model, ServingLimits.DEFAULTS);
        Path acmeRoot = Files.createDirectories(dir.resolve("acme-adapters"));
        Path betaRoot = Files.createDirectories(dir.resolve("beta-adapters"));
        RandomLora.write(acmeRoot.resolve("task"), model.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.2, 1);
        RandomLora.write(betaRoot.resolve("chat"), model.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.2, 2);
        RandomLora.write(betaRoot.resolve("task"), model.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.2, 3);

        configFile = dir.resolve("tenants.yml");
        Files.writeString(configFile, config(List.of("acme-key")));
        tenants = Tenants.load(configFile);
        tenants.watch(Duration.ofMillis(100));
        server = new RealignServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), models,
                tenants).start();

        try (var acme = client("acme-key"); var beta = client("beta-key")) {
            acme.loadAdapter(LoadAdapterRequest.newBuilder().setName("task").setPath("task").build());
            beta.loadAdapter(LoadAdapterRequest.newBuilder().setName("chat").setPath("chat").build());
            beta.loadAdapter(LoadAdapterRequest.newBuilder().setName("task").setPath("task").build());
        }
    }

    /** Relative roots resolve against the file's folder; keys appear only as their SHA-256. */
    static String config(List<String> acmeKeys) {
        StringBuilder keys = new StringBuilder();
        acmeKeys.forEach(k -> keys.append("      - ").append(Tenants.sha256Hex(k)).append('\n'));
        return """
                tenants:
                  - name: acme
                    api_keys:
                %s    adapter_roots: [acme-adapters]
                    presets:
                      safe-task:
                        method: linear
                        adapters:
                          - {name: task, weight: 0.5}
                    policy:
                      allowed_methods: [linear, task_arithmetic]
                      max_ratio: {task: 0.7}
                      max_concurrent_requests: 4
                      max_tokens: 16
                  - name: beta
                    api_keys: [%s]
                    adapter_roots: [beta-adapters]
                    policy: {max_concurrent_requests: 1}
                """.formatted(keys, Tenants.sha256Hex("beta-key"));
    }

    @AfterAll
    static void stop() {
        server.shutdown(Duration.ofSeconds(10));
    }

    static RealignClient client(String key) {
        return RealignClient.connect("127.0.0.1:" + server.port(),
                new ClientOptions(key, Duration.ofSeconds(60)));
    }

    static GenerateRequest request(MergeProfile profile, int maxTokens) {
        return GenerateRequest.newBuilder().setPrompt("Hello there").setProfile(profile)
                .setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(maxTokens)).build();
    }

    static MergeProfile adapter(String name, double weight) {
        return MergeProfile.newBuilder().addAdapters(AdapterWeight.newBuilder().setName(name).setWeight(weight)).build();
    }

    @Test
    void eachTenantSeesOnlyItsOwnAdapters() {
        try (var acme = client("acme-key"); var beta = client("beta-key")) {
            assertThat(acme.listAdapters(ListAdaptersRequest.getDefaultInstance()).getAdaptersList())
                    .extracting(AdapterInfo::getName).containsExactly("task");
            assertThat(beta.listAdapters(ListAdaptersRequest.getDefaultInstance()).getAdaptersList())
                    .extracting(AdapterInfo::getName).containsExactly("chat", "task");
            // Same name, different tenants, different content.
            assertThat(acme.getAdapter(GetAdapterRequest.newBuilder().setName("task").build()).getContentHash())
                    .isNotEqualTo(beta.getAdapter(GetAdapterRequest.newBuilder().setName("task").build()).getContentHash());

            assertStatus(() -> acme.getAdapter(GetAdapterRequest.newBuilder().setName("chat").build()),
                    Status.Code.NOT_FOUND, "adapter 'chat' is not loaded");
            assertStatus(() -> acme.generateText(request(adapter("chat", 0.5), 4)),
                    Status.Code.NOT_FOUND, "profile.adapters[0].name: adapter 'chat' is not loaded");
            // Another tenant's root is outside this tenant's roots.
            assertStatus(() -> acme.loadAdapter(LoadAdapterRequest.newBuilder().setName("x")
                    .setPath("../beta-adapters/chat").build()), Status.Code.PERMISSION_DENIED, "outside the adapter roots");
        }
    }

    @Test
    void anUploadThroughTheJavaClientLandsInTheCallersNamespaceAndServesLikeLoad() {
        try (var acme = client("acme-key"); var beta = client("beta-key")) {
            try {
                AdapterInfo uploaded = acme.uploadAdapter("uploaded", dir.resolve("acme-adapters/task"));
                assertThat(uploaded.getName()).isEqualTo("uploaded");
                assertThat(uploaded.getKind()).isEqualTo(AdapterKind.LORA);
                assertThat(uploaded.getVersion()).isEqualTo(1);
                assertThat(uploaded.getContentHash()).isEqualTo(
                        acme.getAdapter(GetAdapterRequest.newBuilder().setName("task").build()).getContentHash());

                GenerationResult viaUpload = acme.generateText(request(adapter("uploaded", 0.5), 8));
                GenerationResult viaLoad = acme.generateText(request(adapter("task", 0.5), 8));
                assertThat(viaUpload.tokenIds()).hasSize(8).isEqualTo(viaLoad.tokenIds());
                assertThat(viaUpload.profileKey()).contains("acme/uploaded@");

                assertStatus(() -> beta.getAdapter(GetAdapterRequest.newBuilder().setName("uploaded").build()),
                        Status.Code.NOT_FOUND, "adapter 'uploaded' is not loaded");
                assertThat(beta.listAdapters(ListAdaptersRequest.getDefaultInstance()).getAdaptersList())
                        .extracting(AdapterInfo::getName).doesNotContain("uploaded");
            } finally {
                acme.unloadAdapter(UnloadAdapterRequest.newBuilder().setName("uploaded").build());
            }
        }
    }

    @Test
    void sameAdapterNameServesEachTenantItsOwnWeights() {
        try (var acme = client("acme-key"); var beta = client("beta-key")) {
            GenerationResult a = acme.generateText(request(adapter("task", 0.5), 8));
            GenerationResult b = beta.generateText(request(adapter("task", 0.5), 8));
            assertThat(a.profileKey()).contains("acme/task@").isNotEqualTo(b.profileKey());
            assertThat(b.profileKey()).contains("beta/task@");
        }
    }

    @Test
    void aRequestOutsidePolicyIsDeniedNamingTheRule() {
        try (var acme = client("acme-key")) {
            assertStatus(() -> acme.generateText(request(adapter("task", 0.9), 4)), Status.Code.PERMISSION_DENIED,
                    "policy max_ratio: adapter 'task' weight 0.9 exceeds 0.7 for tenant 'acme'");
            // Naming the adapter twice does not split a ratio past the bound.
            MergeProfile twice = adapter("task", 0.4).toBuilder()
                    .addAdapters(AdapterWeight.newBuilder().setName("task").setWeight(0.4)).build();
            assertStatus(() -> acme.generateText(request(twice, 4)), Status.Code.PERMISSION_DENIED, "policy max_ratio");
            assertStatus(() -> acme.generateText(request(adapter("task", 0.5).toBuilder()
                            .setMethod(dev.realign.api.v1.MergeMethod.TIES).build(), 4)),
                    Status.Code.PERMISSION_DENIED, "policy allowed_methods: method 'ties'");
            assertStatus(() -> acme.generateText(request(adapter("task", 0.5), 32)), Status.Code.PERMISSION_DENIED,
                    "policy max_tokens: sampling.max_tokens 32 exceeds 16 for tenant 'acme'");
            // Left at 0, max_tokens takes the policy's bound instead of the server's larger default.
            assertThat(acme.generateText(request(adapter("task", 0.7), 0)).tokenIds()).hasSizeLessThanOrEqualTo(16);
            // Finished and denied requests alike leave no concurrency slot held (freed before the last message).
            assertThat(tenants.inFlight("acme")).isZero();
        }
        try (var beta = client("beta-key")) {
            assertThat(beta.generateText(request(adapter("task", 1.0), 4)).tokenIds()).hasSize(4);
        }
    }

    @Test
    void aRequestOverTheConcurrencyLimitIsResourceExhaustedAndACancelFreesTheSlot() throws Exception {
        try (var beta = client("beta-key")) {
            CountDownLatch firstToken = new CountDownLatch(1);
            CompletableFuture<Status> ended = new CompletableFuture<>();
            // Greedy on this model runs the full 400 tokens (no end token), so it is still running below.
            GenerationHandle running = beta.generate(request(MergeProfile.getDefaultInstance(), 400), new StreamObserver<>() {
                @Override
                public void onNext(GenerateResponse value) {
                    firstToken.countDown();
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
            assertThat(firstToken.await(30, TimeUnit.SECONDS)).isTrue();
            assertStatus(() -> beta.generateText(request(MergeProfile.getDefaultInstance(), 4)),
                    Status.Code.RESOURCE_EXHAUSTED, "policy max_concurrent_requests: tenant 'beta'");
            // Another tenant's quota is its own.
            try (var acme = client("acme-key")) {
                assertThat(acme.generateText(request(MergeProfile.getDefaultInstance(), 4)).tokenIds()).hasSize(4);
            }
            running.cancel("test done");
            assertThat(ended.get(30, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (tenants.inFlight("beta") != 0) {
                assertThat(System.nanoTime()).as("slot freed after the cancel").isLessThan(deadline);
                Thread.sleep(20);
            }
            assertThat(beta.generateText(request(MergeProfile.getDefaultInstance(), 4)).tokenIds()).hasSize(4);
        }
    }

    @Test
    void aPresetServesTheTenantsNamedProfile() {
        try (var acme = client("acme-key"); var beta = client("beta-key")) {
            GenerationResult preset = acme.generateText(request(MergeProfile.newBuilder().setPreset("safe-task").build(), 8));
            GenerationResult explicit = acme.generateText(request(adapter("task", 0.5), 8));
            assertThat(preset.profileKey()).isEqualTo(explicit.profileKey());
            assertThat(preset.tokenIds()).isEqualTo(explicit.tokenIds());
            assertStatus(() -> beta.generateText(request(MergeProfile.newBuilder().setPreset("safe-task").build(), 4)),
                    Status.Code.NOT_FOUND, "profile.preset 'safe-task' is not defined for tenant 'beta'");
        }
    }

    @Test
    void aMissingOrUnknownKeyIsUnauthenticatedButHealthStaysOpen() {
        try (var anonymous = RealignClient.connect("127.0.0.1:" + server.port())) {
            assertThat(anonymous.checkHealth()).isEqualTo(ServingStatus.SERVING);
            assertStatus(() -> anonymous.listAdapters(ListAdaptersRequest.getDefaultInstance()),
                    Status.Code.UNAUTHENTICATED, "missing 'authorization: Bearer <key>'");
            assertStatus(() -> anonymous.generateText(request(MergeProfile.getDefaultInstance(), 4)),
                    Status.Code.UNAUTHENTICATED, "missing");
        }
        try (var stranger = client("not-a-key")) {
            assertStatus(() -> stranger.listAdapters(ListAdaptersRequest.getDefaultInstance()),
                    Status.Code.UNAUTHENTICATED, "unknown API key");
        }
    }

    @Test
    void aChangedConfigIsPickedUpAndABrokenOneIsIgnored() throws Exception {
        try (var acme = client("acme-key"); var rotated = client("acme-key-2")) {
            Files.writeString(configFile, "tenants: [ {name: acme, api_keys: [not-a-hash]} ]\n");
            Thread.sleep(500); // several polls: the broken file is seen, logged and ignored
            assertThat(acme.listAdapters(ListAdaptersRequest.getDefaultInstance()).getAdaptersCount()).isEqualTo(1);

            writeAtomically(config(List.of("acme-key", "acme-key-2")));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (true) {
                try {
                    assertThat(rotated.listAdapters(ListAdaptersRequest.getDefaultInstance()).getAdaptersList())
                            .extracting(AdapterInfo::getName).containsExactly("task");
                    break;
                } catch (StatusRuntimeException e) {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                    assertThat(System.nanoTime()).as("new key accepted within 10 s").isLessThan(deadline);
                    Thread.sleep(50);
                }
            }
            assertThat(acme.listAdapters(ListAdaptersRequest.getDefaultInstance()).getAdaptersCount()).isEqualTo(1);
        }
    }

    private static void writeAtomically(String text) throws IOException {
        Path tmp = configFile.resolveSibling("tenants.yml.tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, configFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static void assertStatus(Executable call, Status.Code code, String message) {
        assertThatThrownBy(call::execute).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(message);
        });
    }
}
