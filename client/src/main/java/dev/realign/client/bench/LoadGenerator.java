package dev.realign.client.bench;

import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.client.RealignClient;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Runs a {@link BenchPlan}: {@code concurrency} streams, each on its own thread, each sending the next
 * request as soon as its previous one ends (a closed loop, so the server is never offered more than
 * {@code concurrency} requests and the numbers measure serving, not queueing behind an open-loop flood).
 *
 * <p>The run ends by itself: no request starts after the count or the duration is reached, and each
 * request is bounded by its max tokens and by the client's deadline.
 */
public final class LoadGenerator {

    private final RealignClient client;
    private final LongSupplier clock;

    public LoadGenerator(RealignClient client) {
        this(client, System::nanoTime);
    }

    /** With another clock, so tests can drive the duration bound. */
    LoadGenerator(RealignClient client, LongSupplier clock) {
        this.client = Objects.requireNonNull(client, "client");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public BenchReport run(BenchPlan plan) {
        if (plan.warmup() > 0) {
            // Warm-up is bounded by its own count only: the plan's duration is for the measured part.
            phase(plan, plan.warmup(), null);
        }
        return BenchReport.of(plan, phase(plan, plan.requests() == 0 ? Long.MAX_VALUE : plan.requests(),
                plan.duration() == null ? null : clock.getAsLong() + plan.duration().toNanos()));
    }

    /** @param stopStartingNanos the clock reading after which no request starts, or null for none */
    private List<RequestOutcome> phase(BenchPlan plan, long count, Long stopStartingNanos) {
        var outcomes = new ConcurrentLinkedQueue<RequestOutcome>();
        var next = new AtomicLong();
        Runnable stream = () -> {
            long i;
            // nanoTime readings may be negative: compare by difference, never against a sentinel value.
            while ((stopStartingNanos == null || clock.getAsLong() - stopStartingNanos < 0)
                    && (i = next.getAndIncrement()) < count) {
                outcomes.add(send(plan.request(i)));
            }
        };
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            var running = new ArrayList<Future<?>>();
            for (int s = 0; s < plan.concurrency(); s++) {
                running.add(threads.submit(stream));
            }
            for (var future : running) {
                future.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the load ran", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a load stream failed: " + e.getCause(), e.getCause());
        }
        return List.copyOf(outcomes);
    }

    /** One request, timed as its chunks reach this client; any failure becomes its status code. */
    RequestOutcome send(GenerateRequest request) {
        var chunkNanos = new ArrayList<Long>();
        long tokens = 0;
        long usageTokens = -1;
        long start = clock.getAsLong();
        try {
            var chunks = client.generate(request);
            while (chunks.hasNext()) {
                GenerateResponse chunk = chunks.next();
                long now = clock.getAsLong();
                if (chunk.getTokenIdsCount() > 0) {
                    chunkNanos.add(now);
                    tokens += chunk.getTokenIdsCount();
                }
                if (chunk.hasUsage()) {
                    usageTokens = chunk.getUsage().getCompletionTokens();
                }
            }
            // The server's count wins: it is what it generated, even if a chunk carried text but no ids.
            return new RequestOutcome(start, chunkNanos, clock.getAsLong(), usageTokens >= 0 ? usageTokens : tokens, null);
        } catch (RuntimeException e) {
            return new RequestOutcome(start, chunkNanos, clock.getAsLong(), tokens, Status.fromThrowable(e).getCode());
        }
    }
}
