package dev.realign.server;

import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.adapters.UploadArea;
import dev.realign.server.adapters.UploadOptions;
import dev.realign.server.grpc.AdaptersService;
import dev.realign.server.grpc.InferenceService;
import dev.realign.server.grpc.JobsService;
import dev.realign.server.jobs.JobOptions;
import dev.realign.server.jobs.JobOutputArea;
import dev.realign.server.jobs.JobRunner;
import dev.realign.server.grpc.SafetyService;
import dev.realign.server.metrics.Monitoring;
import dev.realign.server.metrics.MonitoringOptions;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.safety.SafetyOptions;
import dev.realign.server.safety.SweepRunner;
import dev.realign.server.safety.VerdictWorker;
import dev.realign.server.tenancy.AuthInterceptor;
import dev.realign.server.tenancy.Tenants;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's lifecycle: it registers the services on a builder it is given (Netty in production,
 * in-process in tests), reports health, and shuts down gracefully: health goes NOT_SERVING, new calls are
 * refused, running streams finish, then models are freed.
 */
public final class RealignServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RealignServer.class);

    private final ModelRegistry models;
    private final Tenants tenants;
    private final HealthStatusManager health = new HealthStatusManager();
    private final Monitoring monitoring;
    private final UploadArea uploads;
    private final SafetyOptions safety;
    private final VerdictWorker verdicts;
    private final JobOutputArea jobOutputs;
    private final JobRunner jobs;
    private final Server server;
    private volatile boolean serving; // what /healthz reports: false before start and from the drain on
    private boolean stopped;

    public RealignServer(ServerBuilder<?> builder, ModelRegistry models) {
        this(builder, models, AdapterRoots.none());
    }

    /** Development mode: one open tenant whose adapters load from {@code adapterRoots}. */
    public RealignServer(ServerBuilder<?> builder, ModelRegistry models, AdapterRoots adapterRoots) {
        this(builder, models, Tenants.development(adapterRoots), MonitoringOptions.LOG_ONLY);
    }

    /** Tenants by API key; metrics only in the request log (no HTTP endpoint). */
    public RealignServer(ServerBuilder<?> builder, ModelRegistry models, Tenants tenants) {
        this(builder, models, tenants, MonitoringOptions.LOG_ONLY);
    }

    /**
     * Every call but health and reflection is mapped to a tenant by its API key (open in development mode).
     * Register every model before: the metrics bind to the models present now.
     */
    public RealignServer(ServerBuilder<?> builder, ModelRegistry models, Tenants tenants,
                         MonitoringOptions monitoringOptions) {
        this(builder, models, tenants, monitoringOptions, UploadOptions.DEFAULTS);
    }

    /** With the size limit and place of {@code Adapters.Upload}. */
    public RealignServer(ServerBuilder<?> builder, ModelRegistry models, Tenants tenants,
                         MonitoringOptions monitoringOptions, UploadOptions uploadOptions) {
        this(builder, models, tenants, monitoringOptions, uploadOptions, SafetyOptions.defaults());
    }

    /** With the refusal detectors and the prompt sets sweeps may name; the server closes the detectors. */
    public RealignServer(ServerBuilder<?> builder, ModelRegistry models, Tenants tenants,
                         MonitoringOptions monitoringOptions, UploadOptions uploadOptions, SafetyOptions safety) {
        this(builder, models, tenants, monitoringOptions, uploadOptions, safety, JobOptions.DEFAULTS);
    }

    /** With the job executor's size and the folder realignment results are kept in. */
    public RealignServer(ServerBuilder<?> builder, ModelRegistry models, Tenants tenants,
                         MonitoringOptions monitoringOptions, UploadOptions uploadOptions, SafetyOptions safety,
                         JobOptions jobOptions) {
        this.models = models;
        this.tenants = tenants;
        this.uploads = new UploadArea(uploadOptions);
        this.monitoring = new Monitoring(monitoringOptions, models);
        this.safety = safety;
        this.verdicts = new VerdictWorker(safety.detectors().defaultDetector(), safety.verdictQueue());
        this.jobOutputs = new JobOutputArea(jobOptions.directory());
        this.jobs = new JobRunner(models, safety, jobOptions, jobOutputs);
        this.server = builder
                .intercept(new AuthInterceptor(tenants))
                .addService(new InferenceService(models, tenants, verdicts, monitoring.observer()))
                .addService(new AdaptersService(models, uploads))
                .addService(new SafetyService(safety.detectors(), monitoring.refusalCounts(),
                        new SweepRunner(models, tenants, safety)))
                .addService(new JobsService(jobs))
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .build();
    }

    public RealignServer start() throws IOException {
        server.start();
        try {
            monitoring.start(() -> serving);
        } catch (IOException e) {
            server.shutdownNow();
            throw e;
        }
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus("realign.v1.Inference", ServingStatus.SERVING);
        health.setStatus("realign.v1.Adapters", ServingStatus.SERVING);
        health.setStatus("realign.v1.Safety", ServingStatus.SERVING);
        health.setStatus("realign.v1.Jobs", ServingStatus.SERVING);
        serving = true;
        return this;
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return server.getPort();
    }

    /** The bound port of /metrics and /healthz, or -1 when they are off. */
    public int metricsPort() {
        return monitoring.metricsPort();
    }

    public ModelRegistry models() {
        return models;
    }

    /** Graceful stop: NOT_SERVING, let running requests finish within {@code grace}, then free everything. */
    public synchronized void shutdown(Duration grace) {
        if (stopped) {
            return;
        }
        stopped = true;
        serving = false;
        health.enterTerminalState();
        long deadline = System.nanoTime() + grace.toNanos();
        try {
            jobs.close(); // first: cancelled jobs register nothing, delete their folders and end their streams
            models.drain(grace);
            server.shutdown();
            long left = Math.max(0, deadline - System.nanoTime());
            if (!server.awaitTermination(left, TimeUnit.NANOSECONDS)) {
                log.warn("streams still open after the {} grace period: cancelling them", grace);
                server.shutdownNow();
                server.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        } finally {
            tenants.close();
            verdicts.close(); // after the calls ended: the last ones may have waited for a verdict
            safety.detectors().close();
            models.close();
            uploads.close(); // after the models: their adapters' uploaded folders are deleted as they are freed
            jobOutputs.close(); // likewise for the realigned adapters jobs registered
            // Last, so that /healthz answers 503 and /metrics stays scrapable through the whole drain.
            monitoring.close();
        }
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        shutdown(Duration.ofSeconds(30));
    }
}
