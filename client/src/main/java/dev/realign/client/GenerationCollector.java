package dev.realign.client;

import dev.realign.api.v1.FinishReason;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.SafetyVerdict;
import dev.realign.api.v1.TokenLogprob;
import dev.realign.api.v1.Usage;
import java.util.ArrayList;
import java.util.List;

/**
 * Folds the chunks of one generation stream into a {@link GenerationResult}. Separate from the client so
 * a caller that shows chunks as they arrive (the CLI) can still end up with the whole result.
 * Not thread-safe: feed it from the thread (or observer) that receives the stream.
 */
public final class GenerationCollector {

    private final StringBuilder text = new StringBuilder();
    private final List<Integer> tokenIds = new ArrayList<>();
    private final List<TokenLogprob> logprobs = new ArrayList<>();
    private FinishReason finishReason = FinishReason.FINISH_REASON_UNSPECIFIED;
    private Usage usage = Usage.getDefaultInstance();
    private SafetyVerdict safety = SafetyVerdict.getDefaultInstance();
    private String profileKey = "";
    private String requestId = "";

    public void accept(GenerateResponse chunk) {
        text.append(chunk.getText());
        tokenIds.addAll(chunk.getTokenIdsList());
        logprobs.addAll(chunk.getLogprobsList());
        // The final-message fields are taken whenever present rather than only from the last chunk, so a
        // server that sends them early (or a stream cut short after them) still yields them.
        if (chunk.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
            finishReason = chunk.getFinishReason();
        }
        if (chunk.hasUsage()) {
            usage = chunk.getUsage();
        }
        if (chunk.hasSafety()) {
            safety = chunk.getSafety();
        }
        if (!chunk.getProfileKey().isEmpty()) {
            profileKey = chunk.getProfileKey();
        }
        if (!chunk.getRequestId().isEmpty()) {
            requestId = chunk.getRequestId();
        }
    }

    public GenerationResult result() {
        return new GenerationResult(
                text.toString(), tokenIds, finishReason, usage, safety, profileKey, logprobs, requestId);
    }
}
