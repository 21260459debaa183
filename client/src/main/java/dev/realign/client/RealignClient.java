package dev.realign.client;

import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.AdaptersGrpc;
import dev.realign.api.v1.ClassifyRequest;
import dev.realign.api.v1.ClassifyResponse;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.GetAdapterRequest;
import dev.realign.api.v1.GetMetricsRequest;
import dev.realign.api.v1.GetMetricsResponse;
import dev.realign.api.v1.CancelJobRequest;
import dev.realign.api.v1.CancelJobResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.JobsGrpc;
import dev.realign.api.v1.ListJobsRequest;
import dev.realign.api.v1.ListJobsResponse;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.api.v1.ListAdaptersRequest;
import dev.realign.api.v1.ListAdaptersResponse;
import dev.realign.api.v1.LoadAdapterRequest;
import dev.realign.api.v1.SafetyGrpc;
import dev.realign.api.v1.SweepRequest;
import dev.realign.api.v1.UnloadAdapterRequest;
import dev.realign.api.v1.UnloadAdapterResponse;
import dev.realign.api.v1.UploadHeader;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The Java client of a Realign server: generation (blocking and streaming), health, adapter upload, the
 * merge-ratio sweep, and thin pass-throughs of the other Adapters and the Safety calls.
 *
 * <p>Every RPC failure reaches the caller as the {@link StatusRuntimeException} gRPC raised, unwrapped, so
 * callers can act on its status code (the server's codes are listed in DESIGN §3). Thread-safe: one client
 * can serve many concurrent calls.
 */
public final class RealignClient implements AutoCloseable {

    /** How long {@link #close()} waits for in-flight calls on a channel the client owns. */
    private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);
    /** Bounds one health probe inside {@link #awaitReady}, so a probe stuck on a dead connection is retried. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);
    private static final Duration PROBE_INTERVAL = Duration.ofMillis(100);

    private final Channel channel;
    private final ManagedChannel managed;
    private final boolean ownsChannel;
    private final ClientOptions options;

    private RealignClient(Channel base, boolean ownsChannel, ClientOptions options) {
        this.options = Objects.requireNonNull(options, "options");
        this.managed = base instanceof ManagedChannel m ? m : null;
        this.ownsChannel = ownsChannel;
        this.channel = options.apiKey() == null
                ? base
                : ClientInterceptors.intercept(base, new BearerTokenInterceptor(options.apiKey()));
    }

    /** Connects in plaintext to {@code target} ("host:port"); {@link #close()} shuts the channel down. */
    public static RealignClient connect(String target, ClientOptions options) {
        Objects.requireNonNull(target, "target");
        if (target.isBlank()) {
            throw new IllegalArgumentException("server address must be host:port, got an empty string");
        }
        return owning(Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build(), options);
    }

    /** Connects in plaintext to {@code target} ("host:port") with no API key and no deadline. */
    public static RealignClient connect(String target) {
        return connect(target, ClientOptions.defaults());
    }

    /**
     * Uses a channel the caller built (TLS, in-process, custom load balancing) and hands its lifetime to
     * the client: {@link #close()} shuts it down.
     */
    public static RealignClient owning(ManagedChannel channel, ClientOptions options) {
        return new RealignClient(Objects.requireNonNull(channel, "channel"), true, options);
    }

    /** Uses a channel the caller keeps: {@link #close()} leaves it open, so it can be shared. */
    public static RealignClient over(Channel channel, ClientOptions options) {
        return new RealignClient(Objects.requireNonNull(channel, "channel"), false, options);
    }

    public ClientOptions options() {
        return options;
    }

    // ---- Inference ----

    /**
     * Starts a generation and returns its chunks as they arrive; the iterator blocks for each one and
     * throws {@link StatusRuntimeException} from {@code hasNext}/{@code next} if the call fails. Read it to
     * the end: an abandoned iterator keeps the call open until its deadline. To stop early, use
     * {@link #generate(GenerateRequest, StreamObserver)} and cancel its handle.
     */
    public Iterator<GenerateResponse> generate(GenerateRequest request) {
        return withDeadline(InferenceGrpc.newBlockingStub(channel)).generate(request);
    }

    /** Runs a generation to its end and returns it collected into one result. */
    public GenerationResult generateText(GenerateRequest request) {
        var collector = new GenerationCollector();
        generate(request).forEachRemaining(collector::accept);
        return collector.result();
    }

    /**
     * Starts a generation whose chunks are pushed to {@code observer} on a gRPC thread; returns at once
     * with a handle that can cancel it. Failures arrive as {@code observer.onError(StatusRuntimeException)}.
     */
    public GenerationHandle generate(GenerateRequest request, StreamObserver<GenerateResponse> observer) {
        Objects.requireNonNull(observer, "observer");
        var forwarding = new HandleCapturingObserver(observer);
        withDeadline(InferenceGrpc.newStub(channel)).generate(request, forwarding);
        // beforeStart runs inside the stub call above, before it returns, so the handle is always set here.
        return new GenerationHandle(forwarding.call);
    }

    // ---- Health ----

    /** One grpc.health.v1 check of the whole server (service name ""), under the client's deadline. */
    public ServingStatus checkHealth() {
        return withDeadline(HealthGrpc.newBlockingStub(channel))
                .check(HealthCheckRequest.getDefaultInstance())
                .getStatus();
    }

    /**
     * Polls the server's health until it reports SERVING or {@code timeout} passes. Meant for the moments
     * right after a server starts: an unreachable server, NOT_SERVING and SERVICE_UNKNOWN are waited out.
     * Other failures (UNAUTHENTICATED, UNIMPLEMENTED, ...) will not pass by waiting and are thrown.
     *
     * @return whether the server reported SERVING in time
     */
    public boolean awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                return false;
            }
            if (managed != null) {
                // A channel that failed to connect backs off for up to minutes; a server that has just come
                // up should be found on the next probe, not after the backoff.
                managed.resetConnectBackoff();
            }
            long probeNanos = Math.min(remaining, PROBE_TIMEOUT.toNanos());
            try {
                var status = HealthGrpc.newBlockingStub(channel)
                        .withWaitForReady()
                        .withDeadlineAfter(probeNanos, TimeUnit.NANOSECONDS)
                        .check(HealthCheckRequest.getDefaultInstance())
                        .getStatus();
                if (status == ServingStatus.SERVING) {
                    return true;
                }
            } catch (StatusRuntimeException e) {
                if (!isTransient(e.getStatus().getCode())) {
                    throw e;
                }
            }
            long pause = Math.min(PROBE_INTERVAL.toNanos(), deadline - System.nanoTime());
            if (pause > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(pause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }

    private static boolean isTransient(Status.Code code) {
        return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED;
    }

    // ---- Adapters ----

    public AdapterInfo loadAdapter(LoadAdapterRequest request) {
        return withDeadline(AdaptersGrpc.newBlockingStub(channel)).load(request);
    }

    public ListAdaptersResponse listAdapters(ListAdaptersRequest request) {
        return withDeadline(AdaptersGrpc.newBlockingStub(channel)).list(request);
    }

    public AdapterInfo getAdapter(GetAdapterRequest request) {
        return withDeadline(AdaptersGrpc.newBlockingStub(channel)).get(request);
    }

    public UnloadAdapterResponse unloadAdapter(UnloadAdapterRequest request) {
        return withDeadline(AdaptersGrpc.newBlockingStub(channel)).unload(request);
    }

    /** Uploads an adapter folder to the server's default model, its kind detected by the server. */
    public AdapterInfo uploadAdapter(String name, Path folder) {
        return uploadAdapter(name, "", AdapterKind.ADAPTER_KIND_UNSPECIFIED, folder);
    }

    /**
     * Uploads an adapter folder (PEFT LoRA or a full fine-tune) under {@code name} in the caller's namespace:
     * the folder is written as a tar archive to a temporary file ({@link AdapterTar}), its size and SHA-256
     * go in the header, then its bytes stream in chunks as the connection takes them. Blocks until the
     * server has loaded it (a name that exists is hot-swapped) and returns what the server loaded.
     *
     * @param model base model id; empty = the server's default
     * @param kind  what the folder must be; UNSPECIFIED lets the server detect it
     * @throws StatusRuntimeException as the server answered (e.g. RESOURCE_EXHAUSTED over its size limit)
     * @throws UncheckedIOException   when the folder cannot be read or the archive written
     */
    public AdapterInfo uploadAdapter(String name, String model, AdapterKind kind, Path folder) {
        Path tar;
        try {
            tar = Files.createTempFile("realign-upload-", ".tar");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary file for the archive: " + e.getMessage(), e);
        }
        try {
            AdapterTar.Archive archive = AdapterTar.write(folder, tar);
            UploadHeader header = UploadHeader.newBuilder().setName(name).setModel(model).setKind(kind)
                    .setTotalBytes(archive.sizeBytes()).setSha256(archive.sha256()).build();
            var uploader = new AdapterUploader(header, archive.file());
            withDeadline(AdaptersGrpc.newStub(channel)).upload(uploader);
            try {
                return uploader.result().get();
            } catch (InterruptedException e) {
                uploader.cancel("interrupted");
                Thread.currentThread().interrupt();
                throw Status.CANCELLED.withDescription("upload interrupted").withCause(e).asRuntimeException();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof StatusRuntimeException status) {
                    throw status;
                }
                throw Status.fromThrowable(e.getCause()).asRuntimeException();
            }
        } finally {
            try {
                Files.deleteIfExists(tar);
            } catch (IOException ignored) {
                // a temporary file; the OS cleans its temp folder
            }
        }
    }

    // ---- Safety ----

    public GetMetricsResponse getMetrics(GetMetricsRequest request) {
        return withDeadline(SafetyGrpc.newBlockingStub(channel)).getMetrics(request);
    }

    public ClassifyResponse classify(ClassifyRequest request) {
        return withDeadline(SafetyGrpc.newBlockingStub(channel)).classify(request);
    }

    /**
     * Starts a merge-ratio sweep and returns at once with its handle: events go to {@code listener} on a
     * gRPC thread as they arrive; {@link SweepHandle#await()} returns the points and the recommendation,
     * {@link SweepHandle#cancel} stops the server's work. The client's deadline covers the whole sweep.
     * Failures (INVALID_ARGUMENT naming a field, NOT_FOUND for an adapter or prompt set, ...) surface from
     * {@code await} as the {@link StatusRuntimeException} the server sent.
     */
    public SweepHandle sweep(SweepRequest request, SweepListener listener) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(listener, "listener");
        var handle = new SweepHandle(request, listener);
        withDeadline(SafetyGrpc.newStub(channel)).sweep(request, handle.observer());
        return handle;
    }

    /**
     * Starts a realignment job ({@code Jobs.Run}) and returns at once with its handle: events go to
     * {@code listener} on a gRPC thread; {@link JobHandle#await()} returns the result once the server registered
     * it; {@link JobHandle#cancel} stops the job, which then registers nothing. The client's deadline covers the
     * whole job. Bad requests surface from {@code await} as the status the server sent (INVALID_ARGUMENT naming
     * the field, NOT_FOUND for an adapter or set, FAILED_PRECONDITION, RESOURCE_EXHAUSTED when the server's job
     * slots are taken).
     */
    public JobHandle runJob(RunJobRequest request, JobListener listener) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(listener, "listener");
        var handle = new JobHandle(listener);
        withDeadline(JobsGrpc.newStub(channel)).run(request, handle.observer());
        return handle;
    }

    /** Asks the server to cancel one of the caller's jobs by id ({@code Jobs.Cancel}). */
    public CancelJobResponse cancelJob(String jobId) {
        return withDeadline(JobsGrpc.newBlockingStub(channel)).cancel(CancelJobRequest.newBuilder().setJobId(jobId)
                .build());
    }

    /** The caller's queued and running jobs ({@code Jobs.List}). */
    public ListJobsResponse listJobs() {
        return withDeadline(JobsGrpc.newBlockingStub(channel)).list(ListJobsRequest.getDefaultInstance());
    }

    /** A stub's deadline is absolute once set, so each call gets a stub stamped at the moment it starts. */
    private <S extends AbstractStub<S>> S withDeadline(S stub) {
        var deadline = options.deadline();
        return deadline == null ? stub : stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Shuts down the channel if this client owns it, waiting briefly for calls in flight, then cancelling
     * the rest. A borrowed channel ({@link #over}) is left as it is.
     */
    @Override
    public void close() {
        if (!ownsChannel) {
            return;
        }
        managed.shutdown();
        try {
            if (!managed.awaitTermination(SHUTDOWN_GRACE.toNanos(), TimeUnit.NANOSECONDS)) {
                managed.shutdownNow();
            }
        } catch (InterruptedException e) {
            managed.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** Forwards to the caller's observer and keeps the call so a {@link GenerationHandle} can cancel it. */
    private static final class HandleCapturingObserver
            implements ClientResponseObserver<GenerateRequest, GenerateResponse> {

        private final StreamObserver<GenerateResponse> delegate;
        private ClientCallStreamObserver<GenerateRequest> call;

        HandleCapturingObserver(StreamObserver<GenerateResponse> delegate) {
            this.delegate = delegate;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
            this.call = requestStream;
        }

        @Override
        public void onNext(GenerateResponse value) {
            delegate.onNext(value);
        }

        @Override
        public void onError(Throwable t) {
            delegate.onError(t);
        }

        @Override
        public void onCompleted() {
            delegate.onCompleted();
        }
    }
}
