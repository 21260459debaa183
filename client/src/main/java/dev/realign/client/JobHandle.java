package dev.realign.client;

import dev.realign.api.v1.JobEvent;
import dev.realign.api.v1.JobResult;
import dev.realign.api.v1.RunJobRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A running {@code Jobs.Run}, returned by {@link RealignClient#runJob}: passes events to the caller's
 * {@link JobListener}, keeps the job id and the result, and can cancel the job (the server stops it at its next
 * checkpoint and registers nothing).
 */
public final class JobHandle {

    private final CompletableFuture<JobResult> result = new CompletableFuture<>();
    private final Observer observer;
    private volatile String jobId;

    JobHandle(JobListener listener) {
        this.observer = new Observer(listener);
    }

    ClientResponseObserver<RunJobRequest, JobEvent> observer() {
        return observer;
    }

    /** The server's id of the job, once its first event arrived. */
    public Optional<String> jobId() {
        return Optional.ofNullable(jobId);
    }

    /** Cancels the call, which cancels the job; {@link #await()} then throws CANCELLED. Any thread, any number of times. */
    public void cancel(String reason) {
        observer.call.cancel(reason, null);
    }

    public boolean isDone() {
        return result.isDone();
    }

    /**
     * Blocks until the job ends.
     *
     * @return the registered adapter, the written path and the statistics
     * @throws StatusRuntimeException as the server, the deadline or {@link #cancel} ended it; an interrupt of the
     *                                waiting thread cancels the job and throws CANCELLED
     */
    public JobResult await() {
        try {
            return result.get();
        } catch (InterruptedException e) {
            cancel("the waiting thread was interrupted");
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("job interrupted").withCause(e).asRuntimeException();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException runtime ? runtime
                    : Status.fromThrowable(e.getCause()).asRuntimeException();
        }
    }

    /** Runs on gRPC's threads, one message at a time. */
    private final class Observer implements ClientResponseObserver<RunJobRequest, JobEvent> {

        private final JobListener listener;
        private JobResult last;
        private volatile ClientCallStreamObserver<RunJobRequest> call;

        Observer(JobListener listener) {
            this.listener = listener;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<RunJobRequest> requestStream) {
            this.call = requestStream;
        }

        @Override
        public void onNext(JobEvent event) {
            try {
                switch (event.getEventCase()) {
                    case STARTED -> {
                        jobId = event.getStarted().getJobId();
                        listener.onStarted(jobId);
                    }
                    case PROGRESS -> listener.onProgress(event.getProgress());
                    case RESULT -> last = event.getResult();
                    case EVENT_NOT_SET -> {
                        // An event kind newer than this client: skipping it keeps old clients working.
                    }
                }
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
                call.cancel("the client's job listener failed", e);
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t instanceof StatusRuntimeException ? t
                    : Status.fromThrowable(t).asRuntimeException());
        }

        @Override
        public void onCompleted() {
            if (last == null) {
                result.completeExceptionally(Status.INTERNAL.withDescription("the server ended the job without a result")
                        .asRuntimeException());
                return;
            }
            result.complete(last);
        }
    }
}
