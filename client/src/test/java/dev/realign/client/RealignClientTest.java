package dev.realign.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.ClassifyRequest;
import dev.realign.api.v1.FinishReason;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.GetAdapterRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RealignClientTest {

    private static final GenerateRequest HELLO = GenerateRequest.newBuilder().setPrompt("Say hello").build();

    private final FakeRealignServer server = new FakeRealignServer();

    @AfterEach
    void stopServer() {
        server.close();
    }

    private RealignClient client(ClientOptions options) {
        return RealignClient.owning(server.newChannel(), options);
    }

    @Test
    void blockingGenerateYieldsTheChunksInOrder() {
        server.respond(Chunks.all());
        try (var client = client(ClientOptions.defaults())) {
            var chunks = new ArrayList<GenerateResponse>();
            client.generate(HELLO).forEachRemaining(chunks::add);

            assertThat(chunks).containsExactly(Chunks.all());
            assertThat(server.requests).containsExactly(HELLO);
        }
    }

    @Test
    void generateTextCollectsTheWholeStream() {
        server.respond(Chunks.all());
        try (var client = client(ClientOptions.defaults())) {
            var result = client.generateText(HELLO);

            assertThat(result.text()).isEqualTo("Hello, world!");
            assertThat(result.tokenIds()).containsExactly(15, 11, 995, 0);
            assertThat(result.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(result.usage()).isEqualTo(Chunks.LAST.getUsage());
            assertThat(result.safety()).isEqualTo(Chunks.LAST.getSafety());
            assertThat(result.profileKey()).isEqualTo("linear:medical@0.7");
            assertThat(result.requestId()).isEqualTo("req-1");
            assertThat(result.logprobs()).extracting(l -> l.getTokenId()).containsExactly(15, 11, 995, 0);
        }
    }

    @Test
    void asyncGenerateStreamsToTheObserver() throws Exception {
        server.respond(Chunks.all());
        try (var client = client(ClientOptions.defaults())) {
            var observer = new Recording();
            client.generate(HELLO, observer);

            assertThat(observer.done.get(5, TimeUnit.SECONDS)).isNull();
            assertThat(observer.chunks).containsExactly(Chunks.all());
        }
    }

    @Test
    void cancellingTheHandleCancelsTheCallOnTheServer() throws Exception {
        server.respond(Chunks.FIRST).holdOpen();
        try (var client = client(ClientOptions.defaults())) {
            var observer = new Recording();
            var handle = client.generate(HELLO, observer);
            assertThat(observer.chunks).containsExactly(Chunks.FIRST);

            handle.cancel("user pressed stop");

            assertThat(server.cancelled.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(observer.done.get(5, TimeUnit.SECONDS))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.CANCELLED));
        }
    }

    @Test
    void theApiKeyReachesTheServerAsABearerToken() {
        server.respond(Chunks.all());
        try (var client = client(ClientOptions.defaults().withApiKey("sk-tenant-a"))) {
            client.generateText(HELLO);
            assertThat(server.lastAuthorization()).isEqualTo("Bearer sk-tenant-a");

            client.getAdapter(GetAdapterRequest.newBuilder().setName("medical").build());
            assertThat(server.lastAuthorization()).isEqualTo("Bearer sk-tenant-a");
        }
    }

    @Test
    void withoutAKeyNoAuthorizationHeaderIsSent() {
        server.respond(Chunks.all());
        try (var client = client(ClientOptions.defaults())) {
            client.generateText(HELLO);
            assertThat(server.lastAuthorization()).isNull();
        }
    }

    @Test
    void eachCallGetsItsOwnDeadline() throws InterruptedException {
        server.respond(Chunks.all());
        try (var client = client(ClientOptions.defaults().withDeadline(Duration.ofSeconds(30)))) {
            client.generateText(HELLO);
            Thread.sleep(50);
            client.generateText(HELLO);

            assertThat(server.deadlines).hasSize(2).allSatisfy(deadline ->
                    assertThat(deadline.timeRemaining(TimeUnit.MILLISECONDS)).isBetween(20_000L, 30_000L));
            // Stamped when each call starts, not once when the client was built.
            assertThat(server.deadlines.get(1).isBefore(server.deadlines.get(0))).isFalse();
        }
    }

    @Test
    void serverErrorsSurfaceAsTheirStatus() {
        server.respond(Chunks.FIRST).failWith(
                Status.INVALID_ARGUMENT.withDescription("sampling.temperature must be in [0, 100]"));
        try (var client = client(ClientOptions.defaults())) {
            assertThatThrownBy(() -> client.generateText(HELLO))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.getStatus().getDescription()).isEqualTo("sampling.temperature must be in [0, 100]");
                    });
            assertThatThrownBy(() -> client.getAdapter(GetAdapterRequest.newBuilder().setName("missing").build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        }
    }

    @Test
    void passThroughsReturnTheServersMessages() {
        try (var client = client(ClientOptions.defaults())) {
            var info = client.getAdapter(GetAdapterRequest.newBuilder().setName("medical").build());
            assertThat(info.getName()).isEqualTo("medical");
            assertThat(info.getVersion()).isEqualTo(3);

            var verdicts = client.classify(ClassifyRequest.newBuilder()
                    .setDetector("keyword").addTexts("I can't help with that").addTexts("Sure, here it is").build());
            assertThat(verdicts.getVerdictsList()).extracting(v -> v.getRefused()).containsExactly(true, false);
        }
    }

    @Test
    void awaitReadyReturnsOnceTheServerIsServing() {
        try (var client = client(ClientOptions.defaults())) {
            assertThat(client.awaitReady(Duration.ofSeconds(5))).isTrue();
            assertThat(client.checkHealth()).isEqualTo(ServingStatus.SERVING);
        }
    }

    @Test
    void awaitReadyWaitsOutNotServing() throws Exception {
        server.setServing(ServingStatus.NOT_SERVING);
        try (var client = client(ClientOptions.defaults())) {
            assertThat(client.awaitReady(Duration.ofMillis(300))).isFalse();

            try (var scheduler = Executors.newSingleThreadScheduledExecutor()) {
                scheduler.schedule(() -> server.setServing(ServingStatus.SERVING), 200, TimeUnit.MILLISECONDS);
                assertThat(client.awaitReady(Duration.ofSeconds(5))).isTrue();
            }
        }
    }

    @Test
    void closeLeavesABorrowedChannelOpenAndShutsAnOwnedOne() {
        var borrowed = server.newChannel();
        RealignClient.over(borrowed, ClientOptions.defaults()).close();
        assertThat(borrowed.isShutdown()).isFalse();

        var owned = server.newChannel();
        RealignClient.owning(owned, ClientOptions.defaults()).close();
        assertThat(owned.isShutdown()).isTrue();
    }

    @Test
    void optionsRejectValuesThatWouldFailEveryCall() {
        assertThatThrownBy(() -> ClientOptions.defaults().withApiKey("key\n"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ClientOptions.defaults().withDeadline(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** Records a stream; {@code done} completes with null on success or with the error. */
    private static final class Recording implements StreamObserver<GenerateResponse> {
        final List<GenerateResponse> chunks = new CopyOnWriteArrayList<>();
        final CompletableFuture<Throwable> done = new CompletableFuture<>();

        @Override
        public void onNext(GenerateResponse value) {
            chunks.add(value);
        }

        @Override
        public void onError(Throwable t) {
            done.complete(t);
        }

        @Override
        public void onCompleted() {
            done.complete(null);
        }
    }
}
