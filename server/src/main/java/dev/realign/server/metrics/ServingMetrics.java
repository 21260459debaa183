package dev.realign.server.metrics;

import dev.realign.server.cache.ProfileCache;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.schedule.Scheduler;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The server's Prometheus metrics. Per-request meters are updated once, when a request ends; queue, batch
 * and cache figures are read from their owners at scrape time. Nothing here runs inside a decode step.
 */
public final class ServingMetrics implements RequestObserver {
    /** Scrape content type of the Prometheus text format that {@link #scrape()} writes. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** Only models that exist become label values; a request for an unknown name must not mint series. */
    static final String UNKNOWN_MODEL = "unknown";

    // Buckets for CPU and GPU serving alike: a few ms per token on a GPU to seconds on a laptop CPU.
    private static final Duration[] TTFT_BUCKETS = seconds(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60);
    private static final Duration[] TOKEN_BUCKETS = seconds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5);

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // Tenants appear as they queue, so their rows are refreshed at each scrape rather than bound once.
    private final List<Runnable> refreshers = new ArrayList<>();

    public ServingMetrics(ModelRegistry models) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        models.entries().forEach((id, entry) -> {
            bindScheduler(id, entry.scheduler());
            bindCache(id, entry.profiles());
        });
    }

    private void bindScheduler(String model, Scheduler scheduler) {
        Gauge.builder("realign.queue.depth", scheduler, Scheduler::queueDepth)
                .description("Requests waiting for a batch slot").tag("model", model).register(registry);
        Gauge.builder("realign.batch.size", scheduler, Scheduler::runningCount)
                .description("Sequences stepped together right now").tag("model", model).register(registry);
        MultiGauge byTenant = MultiGauge.builder("realign.tenant.queue.depth")
                .description("Requests waiting for a batch slot, by tenant").tag("model", model).register(registry);
        refreshers.add(() -> byTenant.register(scheduler.queueDepthByTenant().entrySet().stream()
                .map(e -> MultiGauge.Row.of(Tags.of("tenant", e.getKey()), e.getValue())).toList(), true));
    }

    private void bindCache(String model, ProfileCache cache) {
        cacheCounter("realign.profile.cache.hits", "Profile lookups served from the cache", model, cache,
                c -> c.stats().hits());
        cacheCounter("realign.profile.cache.misses", "Profile lookups that had to merge", model, cache,
                c -> c.stats().misses());
        cacheCounter("realign.profile.cache.evictions", "Merged profiles evicted to stay within the budget", model,
                cache, c -> c.stats().evictions());
        cacheCounter("realign.profile.merges", "Profile merges that succeeded", model, cache,
                c -> c.stats().builds());
        FunctionCounter.builder("realign.profile.merge", cache, c -> c.stats().buildSeconds())
                .description("Time spent merging profiles").baseUnit("seconds").tag("model", model).register(registry);
        Gauge.builder("realign.profile.cache.resident", cache, c -> c.stats().residentBytes())
                .description("Merged profile tensors held by the cache").baseUnit("bytes").tag("model", model)
                .register(registry);
    }

    private void cacheCounter(String name, String description, String model, ProfileCache cache,
                              ToDoubleFunction<ProfileCache> value) {
        FunctionCounter.builder(name, cache, value).description(description).tag("model", model).register(registry);
    }

    @Override
    public void onFinished(RequestRecord r) {
        String model = r.model() != null ? r.model() : UNKNOWN_MODEL;
        Tags tags = Tags.of("model", model, "tenant", r.tenant());
        Counter.builder("realign.requests").description("Generate calls by final status")
                .tags(tags).tag("status", r.status().name()).register(registry).increment();
        Counter.builder("realign.prompt.tokens").description("Prompt tokens of requests that reached the scheduler")
                .tags(tags).register(registry).increment(r.promptTokens());
        Counter.builder("realign.completion.tokens").description("Tokens generated, including for failed requests")
                .tags(tags).register(registry).increment(r.completionTokens());
        if (!Double.isNaN(r.timeToFirstTokenMs())) {
            Timer ttft = Timer.builder("realign.time.to.first.token").description("Arrival to first generated token")
                    .tag("model", model).serviceLevelObjectives(TTFT_BUCKETS).register(registry);
            ttft.record(nanos(r.timeToFirstTokenMs()), TimeUnit.NANOSECONDS);
            if (r.completionTokens() > 1) {
                // The request's mean gap between tokens, recorded once at its end rather than per step.
                double perToken = (r.totalTimeMs() - r.timeToFirstTokenMs()) / (r.completionTokens() - 1);
                Timer.builder("realign.time.per.output.token").description("Mean time per token after the first")
                        .tag("model", model).serviceLevelObjectives(TOKEN_BUCKETS).register(registry)
                        .record(nanos(perToken), TimeUnit.NANOSECONDS);
            }
        }
        if (r.verdict() != null) {
            Tags safety = Tags.of("tenant", r.tenant(), "adapter", r.adapters(), "profile", r.profileKey());
            Counter.builder("realign.responses").description("Responses that carried a refusal verdict")
                    .tags(safety).register(registry).increment();
            // Registered with every response so that a profile that never refuses shows 0, not no series.
            Counter refusals = Counter.builder("realign.refusals").description("Responses the detector judged refusals")
                    .tags(safety).register(registry);
            if (r.verdict().refused()) {
                refusals.increment();
            }
        }
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        synchronized (refreshers) {
            refreshers.forEach(Runnable::run);
        }
        return registry.scrape();
    }

    public MeterRegistry registry() {
        return registry;
    }

    private static long nanos(double millis) {
        return Math.round(millis * 1e6);
    }

    private static Duration[] seconds(double... values) {
        Duration[] out = new Duration[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Duration.ofNanos(Math.round(values[i] * 1e9));
        }
        return out;
    }
}
