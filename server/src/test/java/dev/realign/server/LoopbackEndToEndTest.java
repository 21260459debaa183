package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.api.v1.FinishReason;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.SamplingParams;
import dev.realign.client.GenerationResult;
import dev.realign.client.RealignClient;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real server on Netty over loopback, called by our Java client, by reflection, and by a non-Java client. */
class LoopbackEndToEndTest {
    @TempDir
    static Path dir;
    static RealignServer server;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws IOException {
        Path modelDir = TestServer.writeModel(dir.resolve("model"), Architecture.QWEN2);
        ModelRegistry models = new ModelRegistry();
        models.add(LoadedModel.load("qwen-tiny", modelDir, ai.djl.Device.cpu(), ComputeType.AUTO), ServingLimits.DEFAULTS);
        server = new RealignServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), models).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.shutdown(Duration.ofSeconds(10));
    }

    @Test
    void javaClientStreamsAGeneration() {
        try (RealignClient client = RealignClient.connect("127.0.0.1:" + server.port())) {
            assertThat(client.awaitReady(Duration.ofSeconds(10))).isTrue();
            GenerationResult result = client.generateText(GenerateRequest.newBuilder().setPrompt("Hello")
                    .setSampling(SamplingParams.newBuilder().setMaxTokens(7)).build());
            assertThat(result.tokenIds()).hasSize(7);
            assertThat(result.finishReason()).isEqualTo(FinishReason.LENGTH);
        }
    }

    @Test
    void healthAndReflectionAreServed() throws Exception {
        assertThat(HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance()).getStatus())
                .isEqualTo(ServingStatus.SERVING);
        CompletableFuture<List<String>> services = new CompletableFuture<>();
        var request = ServerReflectionGrpc.newStub(channel).serverReflectionInfo(new StreamObserver<>() {
            @Override
            public void onNext(ServerReflectionResponse value) {
                List<String> names = new ArrayList<>();
                value.getListServicesResponse().getServiceList().forEach(s -> names.add(s.getName()));
                services.complete(names);
            }

            @Override
            public void onError(Throwable t) {
                services.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
            }
        });
        request.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        request.onCompleted();
        assertThat(services.get(10, TimeUnit.SECONDS)).contains("realign.v1.Inference", "grpc.health.v1.Health");
    }

    /**
     * A Node.js client that loads only the .proto files (client/src/test/node): it proves the contract is
     * usable without any of our Java. CI installs its two npm packages; elsewhere the test is skipped when
     * they are absent.
     */
    @Test
    void aClientBuiltFromTheProtoFilesAloneGetsTokenIdsAndLogprobs() throws Exception {
        Path nodeDir = projectRoot().resolve("client/src/test/node");
        boolean ready = Files.isDirectory(nodeDir.resolve("node_modules/@grpc/grpc-js")) && onPath("node");
        if ("true".equals(System.getenv("CI"))) {
            assertThat(ready).as("CI must install client/src/test/node (npm ci) and have node").isTrue();
        }
        assumeTrue(ready, "node or client/src/test/node/node_modules missing (run npm ci there)");

        Process node = new ProcessBuilder("node", "generate.mjs", "127.0.0.1:" + server.port(), "Hi there", "5", "3")
                .directory(nodeDir.toFile()).redirectErrorStream(true).start();
        assertThat(node.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String output = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(node.exitValue()).as(output).isZero();

        ObjectMapper json = new ObjectMapper();
        List<JsonNode> messages = new ArrayList<>();
        for (String line : output.strip().split("\n")) {
            messages.add(json.readTree(line));
        }
        assertThat(messages).hasSize(5);
        for (JsonNode m : messages) {
            assertThat(m.get("token_ids")).hasSize(1);
            assertThat(m.get("logprobs").get(0).get("top")).hasSize(3);
        }
        assertThat(messages.getLast().get("finish_reason").asText()).isEqualTo("LENGTH");
        assertThat(messages.getLast().get("usage").get("completion_tokens").asInt()).isEqualTo(5);
    }

    private static boolean onPath(String program) {
        try {
            return new ProcessBuilder(program, "--version").start().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static Path projectRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("mvnw"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("project root (with mvnw) not found above " + Path.of("").toAbsolutePath());
        }
        return p;
    }
}
