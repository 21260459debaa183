package dev.realign.client;

import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.AdaptersGrpc;
import dev.realign.api.v1.ClassifyRequest;
import dev.realign.api.v1.ClassifyResponse;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.GetAdapterRequest;
import dev.realign.api.v1.CancelJobRequest;
import dev.realign.api.v1.CancelJobResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.JobEvent;
import dev.realign.api.v1.JobInfo;
import dev.realign.api.v1.JobsGrpc;
import dev.realign.api.v1.ListJobsRequest;
import dev.realign.api.v1.ListJobsResponse;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.api.v1.SafetyGrpc;
import dev.realign.api.v1.SafetyVerdict;
import dev.realign.api.v1.SweepEvent;
import dev.realign.api.v1.SweepRequest;
import dev.realign.api.v1.UploadAdapterChunk;
import dev.realign.api.v1.UploadHeader;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * An in-process Realign server whose Inference service (and Safety.Sweep) replays a script, records what
 * it received (requests, headers, deadlines), and can fail or hold a stream open. Shared by the library and CLI tests.
 */
public final class FakeRealignServer implements AutoCloseable {

    public static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final String name = InProcessServerBuilder.generateName();
    private final Server server;
    private final HealthStatusManager health = new HealthStatusManager();
    private final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();

    public final List<GenerateRequest> requests = new CopyOnWriteArrayList<>();
    public final List<Metadata> headers = new CopyOnWriteArrayList<>();
    public final List<Deadline> deadlines = new CopyOnWriteArrayList<>();
    public final CountDownLatch cancelled = new CountDownLatch(1);
    /** Headers of completed uploads, and the bytes and number of data messages each carried. */
    public final List<UploadHeader> uploadHeaders = new CopyOnWriteArrayList<>();
    public final List<byte[]> uploadedBytes = new CopyOnWriteArrayList<>();
    public final List<Integer> uploadChunks = new CopyOnWriteArrayList<>();

    /** Sweeps: the requests received, when one has sent its script, and whether one was cancelled. */
    public final List<SweepRequest> sweepRequests = new CopyOnWriteArrayList<>();
    public final CountDownLatch sweepStarted = new CountDownLatch(1);
    public final CountDownLatch sweepCancelled = new CountDownLatch(1);

    /** Jobs: the Run requests received, the Cancel ids, when a job has sent its script, whether one was cancelled. */
    public final List<RunJobRequest> jobRequests = new CopyOnWriteArrayList<>();
    public final List<String> cancelledJobIds = new CopyOnWriteArrayList<>();
    public final CountDownLatch jobStarted = new CountDownLatch(1);
    public final CountDownLatch jobCancelled = new CountDownLatch(1);
    private volatile List<JobEvent> jobScript = List.of();
    private volatile Status jobFailure;
    private volatile boolean holdJobOpen;
    private volatile List<JobInfo> jobList = List.of();

    private volatile List<GenerateResponse> script = List.of();
    private volatile List<SweepEvent> sweepScript = List.of();
    private volatile Status sweepFailure;
    private volatile boolean holdSweepOpen;
    private volatile Status failure;
    private volatile Function<GenerateRequest, Status> failureFor = request -> null;
    private volatile boolean holdOpen;

    public FakeRealignServer() {
        ServerInterceptor captureHeaders = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(
                    ServerCall<Q, R> call, Metadata requestHeaders, ServerCallHandler<Q, R> next) {
                headers.add(requestHeaders);
                return next.startCall(call, requestHeaders);
            }
        };
        try {
            server = InProcessServerBuilder.forName(name)
                    .directExecutor()
                    .addService(ServerInterceptors.intercept(new Inference(), captureHeaders))
                    .addService(ServerInterceptors.intercept(new Adapters(this), captureHeaders))
                    .addService(new Safety(this))
                    .addService(new Jobs(this))
                    .addService(health.getHealthService())
                    .build()
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        health.setStatus("", ServingStatus.SERVING);
    }

    public String name() {
        return name;
    }

    /** A new channel to this server; closed with the server unless the test closes it first. */
    public ManagedChannel newChannel() {
        var channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        channels.add(channel);
        return channel;
    }

    /** The chunks the next generations stream, in order. */
    public FakeRealignServer respond(GenerateResponse... chunks) {
        script = List.of(chunks);
        return this;
    }

    /** Ends each generation with this status after the scripted chunks. */
    public FakeRealignServer failWith(Status status) {
        failure = status;
        return this;
    }

    /**
     * Fails the generations this picks a status for (null = serve it), before any chunk, as a server
     * rejects a request it will not run; takes precedence over {@link #failWith}.
     */
    public FakeRealignServer failFor(Function<GenerateRequest, Status> rule) {
        failureFor = rule;
        return this;
    }

    /** Leaves each generation open after the scripted chunks, until the client cancels. */
    public FakeRealignServer holdOpen() {
        holdOpen = true;
        return this;
    }

    /** The events every job streams, in order. */
    public FakeRealignServer respondJob(JobEvent... events) {
        jobScript = List.of(events);
        return this;
    }

    /** Ends each job with this status after the scripted events. */
    public FakeRealignServer failJobWith(Status status) {
        jobFailure = status;
        return this;
    }

    /** Leaves each job open after the scripted events, until the client cancels. */
    public FakeRealignServer holdJobOpen() {
        holdJobOpen = true;
        return this;
    }

    /** What Jobs.List answers. */
    public FakeRealignServer listJobs(JobInfo... jobs) {
        jobList = List.of(jobs);
        return this;
    }

    /** The events every sweep streams, in order. */
    public FakeRealignServer respondSweep(SweepEvent... events) {
        sweepScript = List.of(events);
        return this;
    }

    /** Ends each sweep with this status after the scripted events. */
    public FakeRealignServer failSweepWith(Status status) {
        sweepFailure = status;
        return this;
    }

    /** Leaves each sweep open after the scripted events, until the client cancels or its deadline passes. */
    public FakeRealignServer holdSweepOpen() {
        holdSweepOpen = true;
        return this;
    }

    public void setServing(ServingStatus status) {
        health.setStatus("", status);
    }

    public String lastAuthorization() {
        return headers.getLast().get(AUTHORIZATION);
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private final class Inference extends InferenceGrpc.InferenceImplBase {
        @Override
        public void generate(GenerateRequest request, StreamObserver<GenerateResponse> observer) {
            requests.add(request);
            var deadline = Context.current().getDeadline();
            if (deadline != null) {
                deadlines.add(deadline);
            }
            var call = (ServerCallStreamObserver<GenerateResponse>) observer;
            call.setOnCancelHandler(cancelled::countDown);
            Status rejected = failureFor.apply(request);
            if (rejected != null) {
                observer.onError(rejected.asRuntimeException());
                return;
            }
            script.forEach(observer::onNext);
            if (failure != null) {
                observer.onError(failure.asRuntimeException());
            } else if (!holdOpen) {
                observer.onCompleted();
            }
        }
    }

    private static final class Adapters extends AdaptersGrpc.AdaptersImplBase {
        private final FakeRealignServer fake;

        Adapters(FakeRealignServer fake) {
            this.fake = fake;
        }

        /** Records the upload; the name "too-big" is refused at its header, as a server over its limit does. */
        @Override
        public StreamObserver<UploadAdapterChunk> upload(StreamObserver<AdapterInfo> observer) {
            return new StreamObserver<>() {
                private UploadHeader header;
                private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                private int chunks;
                private boolean failed;

                @Override
                public void onNext(UploadAdapterChunk chunk) {
                    if (failed) {
                        return;
                    }
                    if (chunk.hasHeader()) {
                        header = chunk.getHeader();
                        if (header.getName().equals("too-big")) {
                            failed = true;
                            observer.onError(Status.RESOURCE_EXHAUSTED.withDescription("header.total_bytes "
                                    + header.getTotalBytes() + " exceeds the server's upload limit").asRuntimeException());
                        }
                    } else {
                        bytes.writeBytes(chunk.getData().toByteArray());
                        chunks++;
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    if (failed) {
                        return;
                    }
                    fake.uploadHeaders.add(header);
                    fake.uploadedBytes.add(bytes.toByteArray());
                    fake.uploadChunks.add(chunks);
                    observer.onNext(AdapterInfo.newBuilder().setName(header.getName()).setModel("fake")
                            .setKind(dev.realign.api.v1.AdapterKind.LORA).setRank(4).setVersion(1)
                            .addTargetModules("layers.0.self_attn.q_proj").setContentHash("ab".repeat(32)).build());
                    observer.onCompleted();
                }
            };
        }

        @Override
        public void get(GetAdapterRequest request, StreamObserver<AdapterInfo> observer) {
            if (request.getName().equals("missing")) {
                observer.onError(Status.NOT_FOUND.withDescription("adapter 'missing' is not loaded").asRuntimeException());
                return;
            }
            observer.onNext(AdapterInfo.newBuilder().setName(request.getName()).setRank(8).setVersion(3).build());
            observer.onCompleted();
        }
    }

    private static final class Safety extends SafetyGrpc.SafetyImplBase {
        private final FakeRealignServer fake;

        Safety(FakeRealignServer fake) {
            this.fake = fake;
        }

        @Override
        public void sweep(SweepRequest request, StreamObserver<SweepEvent> observer) {
            fake.sweepRequests.add(request);
            var deadline = Context.current().getDeadline();
            if (deadline != null) {
                fake.deadlines.add(deadline);
            }
            ((ServerCallStreamObserver<SweepEvent>) observer).setOnCancelHandler(fake.sweepCancelled::countDown);
            fake.sweepScript.forEach(observer::onNext);
            fake.sweepStarted.countDown();
            if (fake.sweepFailure != null) {
                observer.onError(fake.sweepFailure.asRuntimeException());
            } else if (!fake.holdSweepOpen) {
                observer.onCompleted();
            }
        }

        @Override
        public void classify(ClassifyRequest request, StreamObserver<ClassifyResponse> observer) {
            var response = ClassifyResponse.newBuilder();
            for (var text : request.getTextsList()) {
                response.addVerdicts(SafetyVerdict.newBuilder()
                        .setRefused(text.startsWith("I can't"))
                        .setDetector(request.getDetector()));
            }
            observer.onNext(response.build());
            observer.onCompleted();
        }
    }

    private static final class Jobs extends JobsGrpc.JobsImplBase {
        private final FakeRealignServer fake;

        Jobs(FakeRealignServer fake) {
            this.fake = fake;
        }

        @Override
        public void run(RunJobRequest request, StreamObserver<JobEvent> observer) {
            fake.jobRequests.add(request);
            ((ServerCallStreamObserver<JobEvent>) observer).setOnCancelHandler(fake.jobCancelled::countDown);
            fake.jobScript.forEach(observer::onNext);
            fake.jobStarted.countDown();
            if (fake.jobFailure != null) {
                observer.onError(fake.jobFailure.asRuntimeException());
            } else if (!fake.holdJobOpen) {
                observer.onCompleted();
            }
        }

        @Override
        public void cancel(CancelJobRequest request, StreamObserver<CancelJobResponse> observer) {
            fake.cancelledJobIds.add(request.getJobId());
            if (!request.getJobId().startsWith("job-")) {
                observer.onError(Status.NOT_FOUND.withDescription("job_id: no queued or running job '"
                        + request.getJobId() + "'").asRuntimeException());
                return;
            }
            observer.onNext(CancelJobResponse.newBuilder().setCancelled(true).build());
            observer.onCompleted();
        }

        @Override
        public void list(ListJobsRequest request, StreamObserver<ListJobsResponse> observer) {
            observer.onNext(ListJobsResponse.newBuilder().addAllJobs(fake.jobList).build());
            observer.onCompleted();
        }
    }
}
