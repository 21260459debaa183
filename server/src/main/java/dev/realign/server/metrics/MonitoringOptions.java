package dev.realign.server.metrics;

import java.net.InetSocketAddress;

/**
 * How a server reports on itself.
 *
 * @param metricsHost address the {@code /metrics} and {@code /healthz} endpoint binds
 * @param metricsPort its port: 0 picks a free one, -1 turns the endpoint and the Prometheus meters off
 * @param logPrompts  whether the JSON request log includes prompt text
 */
public record MonitoringOptions(String metricsHost, int metricsPort, boolean logPrompts) {
    /** The OpenTelemetry Prometheus exporter's default port, where scrape configs often look first. */
    public static final int DEFAULT_METRICS_PORT = 9464;
    public static final int OFF = -1;

    /** Request log only: what embedded and test servers get unless they ask for more. */
    public static final MonitoringOptions LOG_ONLY = new MonitoringOptions("127.0.0.1", OFF, false);

    public MonitoringOptions {
        if (metricsPort < OFF || metricsPort > 65535) {
            throw new IllegalArgumentException("metrics port must be in -1..65535, got " + metricsPort);
        }
    }

    public boolean metricsEnabled() {
        return metricsPort != OFF;
    }

    public InetSocketAddress metricsAddress() {
        return new InetSocketAddress(metricsHost, metricsPort);
    }
}
