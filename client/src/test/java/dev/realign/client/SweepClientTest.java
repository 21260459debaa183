package dev.realign.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.PromptSet;
import dev.realign.api.v1.SweepPoint;
import dev.realign.api.v1.SweepProgress;
import dev.realign.api.v1.SweepRecommendation;
import dev.realign.api.v1.SweepRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SweepClientTest {

    /** Generous: only a hang reaches it. The assertions are on the latches, not on how long they took. */
    private static final long LATCH_SECONDS = 10;

    private final FakeRealignServer server = new FakeRealignServer();

    @AfterEach
    void stop() {
        server.close();
    }

    private RealignClient client(ClientOptions options) {
        return RealignClient.over(server.newChannel(), options);
    }

    private static SweepRequest request(boolean benign) {
        var request = SweepRequest.newBuilder()
                .addAdapters(AdapterWeight.newBuilder().setName("task-lora"))
                .addMethods(MergeMethod.LINEAR).addMethods(MergeMethod.TIES)
                .addRatios(0).addRatios(0.5).addRatios(1)
                .setHarmful(PromptSet.newBuilder().setBuiltin("demo-harmful"))
                .setTask(PromptSet.newBuilder().setBuiltin("demo-task"));
        if (benign) {
            request.setBenign(PromptSet.newBuilder().setBuiltin("demo-benign"));
        }
        return request.build();
    }

    /** Records what a listener was told, in order. */
    private static final class Recorder implements SweepListener {
        final List<Object> events = new CopyOnWriteArrayList<>();

        @Override
        public void onProgress(SweepProgress progress) {
            events.add(progress);
        }

        @Override
        public void onPoint(SweepPoint point) {
            events.add(point);
        }

        @Override
        public void onRecommendation(SweepRecommendation recommendation) {
            events.add(recommendation);
        }
    }

    @Test
    void collectsThePointsAndTheRecommendationAndTellsTheListenerInOrder() {
        var script = SweepEvents.twoMethods();
        server.respondSweep(script);
        var recorder = new Recorder();

        var results = client(ClientOptions.defaults()).sweep(request(true), recorder).await();

        assertThat(server.sweepRequests).containsExactly(request(true));
        assertThat(results.points()).hasSize(6);
        assertThat(results.points()).extracting(SweepPoint::getMethod).containsExactly(MergeMethod.LINEAR,
                MergeMethod.LINEAR, MergeMethod.LINEAR, MergeMethod.TIES, MergeMethod.TIES, MergeMethod.TIES);
        assertThat(results.recommendation().getFound()).isTrue();
        assertThat(results.recommendation().getPoint().getRatio()).isEqualTo(0.5);
        assertThat(results.overRefusalMeasured()).isTrue();
        assertThat(recorder.events).hasSize(script.length);
        assertThat(recorder.events.getFirst()).isInstanceOf(SweepProgress.class);
        assertThat(recorder.events.getLast()).isInstanceOf(SweepRecommendation.class);
    }

    @Test
    void withoutABenignSetOverRefusalIsMarkedUnmeasured() {
        server.respondSweep(SweepEvents.twoMethods());

        var results = client(ClientOptions.defaults()).sweep(request(false), SweepListener.NONE).await();

        assertThat(results.overRefusalMeasured()).isFalse();
    }

    @Test
    void aServerStatusSurfacesFromAwaitUnwrapped() {
        server.respondSweep(SweepEvents.progress(0, 10, "LINEAR r=0 harmful"))
                .failSweepWith(Status.NOT_FOUND.withDescription("adapters[0]: adapter 'task-lora' is not loaded"));

        var handle = client(ClientOptions.defaults()).sweep(request(false), SweepListener.NONE);

        assertThatThrownBy(handle::await).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(e.getStatus().getDescription()).contains("adapters[0]", "task-lora");
        });
        assertThat(handle.isDone()).isTrue();
    }

    @Test
    void aStreamThatEndsWithoutARecommendationIsAnError() {
        server.respondSweep(SweepEvents.event(SweepEvents.point(MergeMethod.LINEAR, 0, 1, 0, 0)));

        var handle = client(ClientOptions.defaults()).sweep(request(false), SweepListener.NONE);

        assertThatThrownBy(handle::await).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
            assertThat(e.getStatus().getDescription()).contains("without a recommendation", "1 points");
        });
    }

    @Test
    void cancellingTheHandleCancelsTheServersStream() throws Exception {
        server.respondSweep(SweepEvents.progress(1, 100, "LINEAR r=0 harmful")).holdSweepOpen();
        var handle = client(ClientOptions.defaults()).sweep(request(false), SweepListener.NONE);
        assertThat(server.sweepStarted.await(LATCH_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(handle.isDone()).isFalse();

        handle.cancel("the user pressed Ctrl-C");

        assertThat(server.sweepCancelled.await(LATCH_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThatThrownBy(handle::await).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.CANCELLED));
    }

    @Test
    void theClientsDeadlineCoversTheWholeSweepAndCancelsItOnTheServer() throws Exception {
        server.respondSweep(SweepEvents.progress(1, 100, "LINEAR r=0 harmful")).holdSweepOpen();
        var client = client(ClientOptions.defaults().withDeadline(Duration.ofMillis(200)));

        var handle = client.sweep(request(false), SweepListener.NONE);

        assertThatThrownBy(handle::await).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        assertThat(server.sweepCancelled.await(LATCH_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(server.deadlines).hasSize(1);
    }

    @Test
    void aFailingListenerStopsTheSweepAndIsWhatAwaitThrows() throws Exception {
        server.respondSweep(SweepEvents.progress(1, 100, "LINEAR r=0 harmful")).holdSweepOpen();
        var listener = new SweepListener() {
            @Override
            public void onProgress(SweepProgress progress) {
                throw new IllegalStateException("the terminal went away");
            }
        };

        var handle = client(ClientOptions.defaults()).sweep(request(false), listener);

        assertThatThrownBy(handle::await).isInstanceOf(IllegalStateException.class).hasMessage("the terminal went away");
        assertThat(server.sweepCancelled.await(LATCH_SECONDS, TimeUnit.SECONDS)).isTrue();
    }
}
