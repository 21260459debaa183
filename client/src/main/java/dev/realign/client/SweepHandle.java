package dev.realign.client;

import dev.realign.api.v1.SweepEvent;
import dev.realign.api.v1.SweepPoint;
import dev.realign.api.v1.SweepRecommendation;
import dev.realign.api.v1.SweepRequest;
import dev.realign.client.sweep.SweepResults;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A running {@code Safety.Sweep}, returned by {@link RealignClient#sweep}. It passes each event to the
 * caller's {@link SweepListener}, collects the points and the recommendation, and can cancel the stream,
 * which the server sees at once and stops generating.
 */
public final class SweepHandle {

    private final CompletableFuture<SweepResults> result = new CompletableFuture<>();
    private final Observer observer;

    SweepHandle(SweepRequest request, SweepListener listener) {
        this.observer = new Observer(listener, request.hasBenign());
    }

    ClientResponseObserver<SweepRequest, SweepEvent> observer() {
        return observer;
    }

    /**
     * Stops the sweep: the server sees the stream cancelled, and {@link #await()} throws CANCELLED (unless
     * the stream had already ended). Safe to call from any thread, more than once.
     */
    public void cancel(String reason) {
        observer.call.cancel(reason, null);
    }

    /** Whether the stream has ended, by its last event, an error or a cancellation. */
    public boolean isDone() {
        return result.isDone();
    }

    /**
     * Blocks until the sweep ends and returns what it produced.
     *
     * @throws StatusRuntimeException as the server (or the deadline, or {@link #cancel}) ended the stream;
     *                                an interrupt of the waiting thread cancels the sweep and throws
     *                                CANCELLED
     */
    public SweepResults await() {
        try {
            return result.get();
        } catch (InterruptedException e) {
            cancel("the waiting thread was interrupted");
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("sweep interrupted").withCause(e).asRuntimeException();
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    private static RuntimeException unwrap(ExecutionException e) {
        return e.getCause() instanceof RuntimeException runtime ? runtime : Status.fromThrowable(e.getCause()).asRuntimeException();
    }

    /** Runs on gRPC's threads; the stream delivers its messages one at a time, so the lists need no lock. */
    private final class Observer implements ClientResponseObserver<SweepRequest, SweepEvent> {

        private final SweepListener listener;
        private final boolean overRefusalMeasured;
        private final List<SweepPoint> points = new ArrayList<>();
        private SweepRecommendation recommendation;
        private volatile ClientCallStreamObserver<SweepRequest> call;

        Observer(SweepListener listener, boolean overRefusalMeasured) {
            this.listener = listener;
            this.overRefusalMeasured = overRefusalMeasured;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<SweepRequest> requestStream) {
            this.call = requestStream;
        }

        @Override
        public void onNext(SweepEvent event) {
            try {
                switch (event.getEventCase()) {
                    case PROGRESS -> listener.onProgress(event.getProgress());
                    case POINT -> {
                        points.add(event.getPoint());
                        listener.onPoint(event.getPoint());
                    }
                    case RECOMMENDATION -> {
                        recommendation = event.getRecommendation();
                        listener.onRecommendation(recommendation);
                    }
                    case EVENT_NOT_SET -> {
                        // An event kind newer than this client: skipping it keeps old clients working.
                    }
                }
            } catch (RuntimeException e) {
                // The caller's listener failed: stop the server's work and report the listener's error.
                result.completeExceptionally(e);
                call.cancel("the client's sweep listener failed", e);
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t instanceof StatusRuntimeException ? t : Status.fromThrowable(t).asRuntimeException());
        }

        @Override
        public void onCompleted() {
            if (recommendation == null) {
                // The contract ends every sweep with a recommendation; without one the results are incomplete.
                result.completeExceptionally(Status.INTERNAL
                        .withDescription("the server ended the sweep without a recommendation (" + points.size()
                                + " points received)")
                        .asRuntimeException());
                return;
            }
            result.complete(new SweepResults(points, recommendation, overRefusalMeasured));
        }
    }
}
