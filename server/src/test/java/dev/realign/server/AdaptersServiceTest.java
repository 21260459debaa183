package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.AdaptersGrpc;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GetAdapterRequest;
import dev.realign.api.v1.ListAdaptersRequest;
import dev.realign.api.v1.LoadAdapterRequest;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.SamplingParams;
import dev.realign.api.v1.UnloadAdapterRequest;
import dev.realign.merge.RandomLora;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class AdaptersServiceTest {
    @TempDir
    static Path dir;
    static RealignServer server;
    static ManagedChannel channel;
    static AdaptersGrpc.AdaptersBlockingStub adapters;

    @BeforeAll
    static void start() throws Exception {
        Path model = TestServer.writeModel(dir.resolve("model"), Architecture.QWEN2);
        Path root = Files.createDirectories(dir.resolve("root"));
        ModelRegistry models = new ModelRegistry();
        LoadedModel loaded = LoadedModel.load("tiny", model, ai.djl.Device.cpu(), ComputeType.AUTO);
        models.add(loaded, ServingLimits.DEFAULTS);
        RandomLora.write(root.resolve("a"), loaded.weights(), List.of("self_attn.q_proj", "mlp.down_proj"), 4, 8, 0.1, 1);
        RandomLora.write(root.resolve("b"), loaded.weights(), RandomLora.ALL_PROJECTIONS, 2, 2, 0.1, 2);
        Path outside = RandomLora.write(dir.resolve("outside"), loaded.weights(), RandomLora.ALL_PROJECTIONS, 2, 2, 0.1, 3);
        Files.createSymbolicLink(root.resolve("escape"), outside);
        String name = InProcessServerBuilder.generateName();
        server = new RealignServer(InProcessServerBuilder.forName(name).directExecutor(), models,
                new AdapterRoots(List.of(root))).start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        adapters = AdaptersGrpc.newBlockingStub(channel);
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.shutdown(Duration.ofSeconds(5));
    }

    @Test
    void loadDescribeSwapListAndUnload() {
        AdapterInfo first = adapters.load(LoadAdapterRequest.newBuilder().setName("task").setPath("a").build());
        assertThat(first.getKind()).isEqualTo(AdapterKind.LORA);
        assertThat(first.getRank()).isEqualTo(4);
        assertThat(first.getVersion()).isEqualTo(1);
        assertThat(first.getTargetModulesList()).hasSize(4); // 2 projections x 2 layers
        assertThat(first.getContentHash()).hasSize(64);

        dev.realign.api.v1.InferenceGrpc.newBlockingStub(channel).generate(GenerateRequest.newBuilder().setPrompt("hi")
                .setSampling(SamplingParams.newBuilder().setMaxTokens(2))
                .setProfile(MergeProfile.newBuilder().addAdapters(AdapterWeight.newBuilder().setName("task").setWeight(0.5)))
                .build()).forEachRemaining(r -> { });
        assertThat(adapters.get(GetAdapterRequest.newBuilder().setName("task").build()).getRequestsServed()).isEqualTo(1);

        AdapterInfo swapped = adapters.load(LoadAdapterRequest.newBuilder().setName("task").setPath("b")
                .setKind(AdapterKind.LORA).build());
        assertThat(swapped.getVersion()).isEqualTo(2);
        assertThat(swapped.getContentHash()).isNotEqualTo(first.getContentHash());
        assertThat(adapters.list(ListAdaptersRequest.getDefaultInstance()).getAdaptersList())
                .extracting(AdapterInfo::getName).containsExactly("task");

        assertThat(adapters.unload(UnloadAdapterRequest.newBuilder().setName("task").build()).getUnloaded()).isTrue();
        assertCode(() -> adapters.get(GetAdapterRequest.newBuilder().setName("task").build()), Status.Code.NOT_FOUND, "'task'");
    }

    @Test
    void pathsOutsideTheRootsAreRefused() {
        assertCode(() -> adapters.load(LoadAdapterRequest.newBuilder().setName("x").setPath("../outside").build()),
                Status.Code.PERMISSION_DENIED, "outside the adapter roots");
        assertCode(() -> adapters.load(LoadAdapterRequest.newBuilder().setName("x").setPath("escape").build()),
                Status.Code.PERMISSION_DENIED, "outside the adapter roots");
        assertCode(() -> adapters.load(LoadAdapterRequest.newBuilder().setName("x").setPath("nope").build()),
                Status.Code.NOT_FOUND, "'nope'");
        assertCode(() -> adapters.load(LoadAdapterRequest.newBuilder().setName("x").setPath("a")
                .setKind(AdapterKind.FULL_DELTA).build()), Status.Code.INVALID_ARGUMENT, "kind");
        assertCode(() -> adapters.load(LoadAdapterRequest.newBuilder().setName("").setPath("a").build()),
                Status.Code.INVALID_ARGUMENT, "name");
        assertCode(() -> adapters.unload(UnloadAdapterRequest.newBuilder().setName("ghost").build()),
                Status.Code.NOT_FOUND, "'ghost'");
    }

    private static void assertCode(Executable call, Status.Code code, String part) {
        assertThatThrownBy(call::execute).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(part);
        });
    }
}
