package dev.realign.server;

import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.grpc.AdaptersService;
import dev.realign.server.grpc.InferenceService;
import dev.realign.server.models.ModelRegistry;
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
    private final Server server;
    private boolean stopped;

    public RealignServer(ServerBuilder<?> builder, ModelRegistry models) {
        this(builder, models, AdapterRoots.none());
    }

    /** Development mode: one open tenant whose adapters load from {@code adapterRoots}. */
    public RealignServer(ServerBuilder<?> builder, ModelRegistry models, AdapterRoots adapterRoots) {
        this(builder, models, Tenants.development(adapterRoots));
    }

    /** Every call but health and reflection is mapped to a tenant by its API key (open in development mode). */
    public RealignServer(ServerBuilder<?> builder, ModelRegistry models, Tenants tenants) {
        this.models = models;
        this.tenants = tenants;
        this.server = builder
                .intercept(new AuthInterceptor(tenants))
                .addService(new InferenceService(models, tenants))
                .addService(new AdaptersService(models))
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .build();
    }

    public RealignServer start() throws IOException {
        server.start();
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus("realign.v1.Inference", ServingStatus.SERVING);
        health.setStatus("realign.v1.Adapters", ServingStatus.SERVING);
        return this;
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return server.getPort();
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
        health.enterTerminalState();
        long deadline = System.nanoTime() + grace.toNanos();
        try {
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
            models.close();
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
