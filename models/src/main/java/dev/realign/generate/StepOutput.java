package dev.realign.generate;

/**
 * What one decode step produced for one sequence.
 *
 * @param tokenId  the sampled token
 * @param text     new text safe to show (may be empty: an incomplete character or a possible stop string)
 * @param logprobs the token's log-probability and the requested alternatives
 * @param finish   why the sequence ended with this step, or null while it goes on
 */
public record StepOutput(int tokenId, String text, TokenLogprobs logprobs, FinishReason finish) {
    public boolean finished() {
        return finish != null;
    }
}
