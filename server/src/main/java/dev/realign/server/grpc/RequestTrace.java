package dev.realign.server.grpc;

import dev.realign.api.v1.GenerateRequest;
import dev.realign.merge.ProfileKey;
import dev.realign.safety.RefusalVerdict;
import dev.realign.server.metrics.RequestObserver;
import dev.realign.server.metrics.RequestRecord;
import dev.realign.server.schedule.Completion;
import io.grpc.Status;
import java.util.stream.Collectors;

/**
 * What is known about one Generate call as it moves from the gRPC thread to the merge and scheduler
 * threads (each hand-off is a queue or future, which orders these writes), reported to the observer
 * exactly once when the call ends.
 */
final class RequestTrace {
    private final RequestObserver observer;
    private final String requestId;
    private final String tenant;
    private final long arrivalNanos;
    private final GenerateRequest request;
    private String model;
    private String profileKey;
    private String adapters;
    private int promptTokens;
    private double mergeMs = Double.NaN;
    private boolean reported;

    RequestTrace(RequestObserver observer, String requestId, String tenant, long arrivalNanos,
                 GenerateRequest request) {
        this.observer = observer;
        this.requestId = requestId;
        this.tenant = tenant;
        this.arrivalNanos = arrivalNanos;
        this.request = request;
    }

    void resolved(String model, ProfileKey key, int promptTokens) {
        this.model = model;
        this.profileKey = key.canonical();
        this.adapters = key.isBase() ? RequestRecord.BASE_ADAPTERS
                : key.adapters().stream().map(ProfileKey.Member::name).collect(Collectors.joining("+"));
        this.promptTokens = promptTokens;
    }

    void merged(double mergeMs) {
        this.mergeMs = mergeMs;
    }

    double sinceArrivalMs() {
        return (System.nanoTime() - arrivalNanos) / 1e6;
    }

    String profileKey() {
        return profileKey;
    }

    void completed(Completion c, RefusalVerdict verdict) {
        report(c.completionTokens(), c.timeToFirstTokenMs(), c.totalTimeMs(), c.finishReason().name(),
                Status.Code.OK, verdict);
    }

    /** A call that ended without its last message: its tokens so far still count as work done. */
    void failed(Status.Code status, int tokensGenerated, double timeToFirstTokenMs) {
        report(tokensGenerated, timeToFirstTokenMs, sinceArrivalMs(), null, status, null);
    }

    private void report(int completionTokens, double ttftMs, double totalMs, String finishReason,
                        Status.Code status, RefusalVerdict verdict) {
        if (reported) {
            return;
        }
        reported = true;
        observer.onFinished(new RequestRecord(requestId, tenant, model, profileKey, adapters, promptTokens,
                completionTokens, ttftMs, totalMs, mergeMs, finishReason, status, verdict, promptText(request)));
    }

    /** The prompt as a person would read it; token-id prompts have no text. */
    private static String promptText(GenerateRequest request) {
        return switch (request.getInputCase()) {
            case PROMPT -> request.getPrompt();
            case MESSAGES -> request.getMessages().getMessagesList().stream()
                    .map(m -> m.getRole() + ": " + m.getContent()).collect(Collectors.joining("\n"));
            case PROMPT_TOKEN_IDS, INPUT_NOT_SET -> null;
        };
    }
}
