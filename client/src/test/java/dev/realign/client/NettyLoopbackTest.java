package dev.realign.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The plaintext {@link RealignClient#connect} path over real Netty, on the loopback address only. */
class NettyLoopbackTest {

    @Test
    void connectStreamsOverPlaintextAndAwaitReadyFindsALateServer() throws Exception {
        int port = freeLoopbackPort();
        try (var client = RealignClient.connect("127.0.0.1:" + port)) {
            // The server starts only after the client has already failed to connect at least once.
            var started = CompletableFuture.supplyAsync(() -> {
                sleep(300);
                return start(port);
            });
            assertThat(client.awaitReady(Duration.ofSeconds(10))).isTrue();
            var server = started.get(10, TimeUnit.SECONDS);
            try {
                var result = client.generateText(GenerateRequest.newBuilder().setPrompt("ping").build());
                assertThat(result.text()).isEqualTo("pong");
            } finally {
                server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    private static Server start(int port) {
        var health = new HealthStatusManager();
        health.setStatus("", ServingStatus.SERVING);
        try {
            return Grpc.newServerBuilderForPort(port, InsecureServerCredentials.create())
                    .addService(new InferenceGrpc.InferenceImplBase() {
                        @Override
                        public void generate(GenerateRequest request, StreamObserver<GenerateResponse> observer) {
                            observer.onNext(GenerateResponse.newBuilder().setText("pong").build());
                            observer.onCompleted();
                        }
                    })
                    .addService(health.getHealthService())
                    .build()
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the loopback server on port " + port, e);
        }
    }

    private static int freeLoopbackPort() throws IOException {
        try (var socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
