package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.FinishReason;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.SamplingParams;
import dev.realign.model.synthetic.Architecture;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shutdown: health goes NOT_SERVING, new calls are refused, running streams finish whole, then exit. */
class GracefulShutdownTest {
    @TempDir
    Path dir;

    @Test
    void runningStreamsFinishWhileNewCallsAreRefused() throws Exception {
        TestServer server = new TestServer(TestServer.writeModel(dir.resolve("m"), Architecture.QWEN3), 4, 8);
        int maxTokens = 300;
        CountDownLatch firstToken = new CountDownLatch(1);
        List<GenerateResponse> received = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Status> ended = new CompletableFuture<>();
        InferenceGrpc.newStub(server.channel).generate(GenerateRequest.newBuilder().setPrompt("long story")
                .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens)).build(), new StreamObserver<>() {
            @Override
            public void onNext(GenerateResponse value) {
                received.add(value);
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

        Thread stopper = Thread.ofPlatform().start(() -> server.server.shutdown(Duration.ofSeconds(60)));
        var health = HealthGrpc.newBlockingStub(server.channel);
        awaitHealth(health, ServingStatus.NOT_SERVING);
        assertThatThrownBy(() -> server.generate(GenerateRequest.newBuilder().setPrompt("late")
                .setSampling(SamplingParams.newBuilder().setMaxTokens(2)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));

        assertThat(ended.get(60, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
        assertThat(received).hasSize(maxTokens);
        assertThat(received.getLast().getFinishReason()).isEqualTo(FinishReason.LENGTH);
        stopper.join(60_000);
        assertThat(stopper.isAlive()).isFalse();
        server.channel.shutdownNow();
    }

    private static void awaitHealth(HealthGrpc.HealthBlockingStub health, ServingStatus wanted) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            try {
                if (health.check(HealthCheckRequest.getDefaultInstance()).getStatus() == wanted) {
                    return;
                }
            } catch (StatusRuntimeException e) {
                // The transport may already refuse new calls; that also means not serving.
                if (wanted == ServingStatus.NOT_SERVING) {
                    return;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("health never became " + wanted);
    }
}
