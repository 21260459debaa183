package dev.realign.server.metrics;

import dev.realign.safety.RefusalVerdict;
import io.grpc.Status;

/**
 * What one Generate call came to, reported once when it ends (completed, failed or cancelled). Fields the
 * request never reached are absent: {@code null} for text, {@code NaN} for times, 0 for token counts.
 *
 * @param tenant       whom the request is accounted to; {@link #DEFAULT_TENANT} while the server has no tenants
 * @param model        the served model id, {@code null} when the request named none that exists
 * @param profileKey   the canonical profile key ({@code ProfileKey.canonical()})
 * @param adapters     the profile's adapter names joined with '+', or "base"
 * @param finishReason STOP or LENGTH for a completed request
 * @param verdict      the refusal verdict sent on the last response; {@code null} when no response was sent
 * @param prompt       the request's prompt as text (chat messages as "role: content" lines); sinks decide
 *                     whether to keep it
 */
public record RequestRecord(String requestId, String tenant, String model, String profileKey, String adapters,
                            int promptTokens, int completionTokens, double timeToFirstTokenMs, double totalTimeMs,
                            double mergeTimeMs, String finishReason, Status.Code status, RefusalVerdict verdict,
                            String prompt) {
    /** The tenant every request belongs to until tenant configuration exists. */
    public static final String DEFAULT_TENANT = "default";

    /** The adapter label of the base model's profile. */
    public static final String BASE_ADAPTERS = "base";
}
