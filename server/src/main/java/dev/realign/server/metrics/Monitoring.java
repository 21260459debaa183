package dev.realign.server.metrics;

import dev.realign.server.models.ModelRegistry;
import dev.realign.server.safety.RefusalCounts;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * A server's metrics, request log and HTTP endpoint, assembled from its options: the one object the server
 * owns for them, so that the gRPC services see only a {@link RequestObserver}.
 */
public final class Monitoring implements AutoCloseable {
    private final MonitoringOptions options;
    private final ServingMetrics metrics; // null when the metrics are off
    private final RequestObserver observer;
    private final RefusalCounts refusalCounts = new RefusalCounts();
    private MetricsHttpServer http;

    /** Binds gauges to the models registered so far; register every model before. */
    public Monitoring(MonitoringOptions options, ModelRegistry models) {
        this.options = options;
        this.metrics = options.metricsEnabled() ? new ServingMetrics(models) : null;
        List<RequestObserver> observers = new ArrayList<>();
        if (metrics != null) {
            observers.add(metrics);
        }
        observers.add(refusalCounts);
        observers.add(new RequestLog(options.logPrompts()));
        this.observer = RequestObserver.all(observers);
    }

    /** Responses and refusals per tenant, adapters and profile (what {@code Safety.GetMetrics} reports). */
    public RefusalCounts refusalCounts() {
        return refusalCounts;
    }

    public RequestObserver observer() {
        return observer;
    }

    /** Opens the HTTP endpoint, if enabled. */
    public synchronized void start(BooleanSupplier serving) throws IOException {
        if (metrics == null || http != null) {
            return;
        }
        http = new MetricsHttpServer(options.metricsAddress(), metrics::scrape, serving);
    }

    /** The endpoint's bound port, or -1 when it is off or not started. */
    public synchronized int metricsPort() {
        return http == null ? MonitoringOptions.OFF : http.port();
    }

    @Override
    public synchronized void close() {
        if (http != null) {
            http.close();
            http = null;
        }
        if (metrics != null) {
            metrics.registry().close();
        }
    }
}
