package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.SamplingParams;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.metrics.MonitoringOptions;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import dev.realign.server.tenancy.Tenants;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** /healthz turns 503 as soon as a graceful stop begins, while running streams still finish. */
class HealthzDrainTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    Path dir;

    @Test
    void healthzIsUnavailableWhileDraining() throws Exception {
        Path modelDir = TestServer.writeModel(dir.resolve("m"), Architecture.QWEN3);
        ModelRegistry models = new ModelRegistry();
        models.add(LoadedModel.load(TestServer.MODEL_ID, modelDir, ai.djl.Device.cpu(), ComputeType.AUTO),
                new ServingLimits(4, 8, 256, 1, 16));
        String name = InProcessServerBuilder.generateName();
        RealignServer server = new RealignServer(InProcessServerBuilder.forName(name).directExecutor(), models,
                Tenants.development(AdapterRoots.none()), new MonitoringOptions("127.0.0.1", 0, false)).start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        int port = server.metricsPort();
        assertThat(healthz(port)).isEqualTo(200);

        CountDownLatch firstToken = new CountDownLatch(1);
        CompletableFuture<Status> ended = new CompletableFuture<>();
        InferenceGrpc.newStub(channel).generate(GenerateRequest.newBuilder().setPrompt("long story")
                .setSampling(SamplingParams.newBuilder().setMaxTokens(300)).build(), new StreamObserver<>() {
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

        Thread stopper = Thread.ofPlatform().start(() -> server.shutdown(Duration.ofSeconds(60)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int status = healthz(port);
        while (status != 503 && System.nanoTime() < deadline) {
            Thread.sleep(10);
            status = healthz(port);
        }
        assertThat(status).isEqualTo(503);
        assertThat(ended.get(60, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
        stopper.join(60_000);
        assertThat(stopper.isAlive()).isFalse();
        channel.shutdownNow();
    }

    private static int healthz(int port) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
