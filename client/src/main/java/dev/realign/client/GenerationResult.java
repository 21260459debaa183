package dev.realign.client;

import dev.realign.api.v1.FinishReason;
import dev.realign.api.v1.SafetyVerdict;
import dev.realign.api.v1.TokenLogprob;
import dev.realign.api.v1.Usage;
import java.util.List;

/**
 * A whole generation, collected from its stream by {@link GenerationCollector}.
 *
 * <p>Fields the server only sends on the last message ({@code finishReason}, {@code usage}, {@code safety},
 * {@code profileKey}) hold the proto defaults when the stream ended without them, so callers read them
 * the same way they read a proto message.
 *
 * @param text         the chunks' text, concatenated in order
 * @param tokenIds     the generated token ids, in order
 * @param finishReason why generation stopped
 * @param usage        token counts and server-side timings
 * @param safety       the refusal verdict on the generated text
 * @param profileKey   the canonical key of the merged profile that served the request
 * @param logprobs     one entry per generated token when the request asked for log-probabilities
 * @param requestId    the id the server logged the request under
 */
public record GenerationResult(
        String text,
        List<Integer> tokenIds,
        FinishReason finishReason,
        Usage usage,
        SafetyVerdict safety,
        String profileKey,
        List<TokenLogprob> logprobs,
        String requestId) {

    public GenerationResult {
        tokenIds = List.copyOf(tokenIds);
        logprobs = List.copyOf(logprobs);
    }
}
