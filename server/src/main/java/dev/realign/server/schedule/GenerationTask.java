package dev.realign.server.schedule;

import dev.realign.generate.SamplingParams;
import dev.realign.server.cache.ProfileLease;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A request waiting for or being served by the scheduler. Cancel and deadline are checked at every step
 * boundary, so a cancelled stream frees its sequence within one step.
 *
 * @param profile       the weights this request runs on; the scheduler closes the lease when the request ends
 * @param deadlineNanos System.nanoTime() after which the request is abandoned; Long.MAX_VALUE = none
 * @param arrivalNanos  System.nanoTime() when the server received it (time to first token counts from here)
 * @param tenant        whose request it is: the waiting queue is shared fairly between tenants
 */
public record GenerationTask(String requestId, ProfileLease profile, int[] promptTokens, SamplingParams sampling,
                             long deadlineNanos, long arrivalNanos, GenerationListener listener, AtomicBoolean cancelled,
                             String tenant) {
    /** The tenant of a server without tenants configured (the development tenant's name). */
    public static final String SINGLE_TENANT = "default";

    public GenerationTask {
        promptTokens = promptTokens.clone();
        if (tenant == null || tenant.isEmpty()) {
            throw new IllegalArgumentException("tenant must be named");
        }
    }

    /** A request of the single tenant of a server without tenants. */
    public GenerationTask(String requestId, ProfileLease profile, int[] promptTokens, SamplingParams sampling,
                          long deadlineNanos, long arrivalNanos, GenerationListener listener, AtomicBoolean cancelled) {
        this(requestId, profile, promptTokens, sampling, deadlineNanos, arrivalNanos, listener, cancelled, SINGLE_TENANT);
    }

    public boolean expired(long now) {
        return now - deadlineNanos > 0 && deadlineNanos != Long.MAX_VALUE;
    }

    public void cancel() {
        cancelled.set(true);
    }
}
