package dev.realign.generate;

import java.util.List;

/**
 * How one request samples. Validation names the API field at fault, so the server can hand the message
 * to the user as it is.
 *
 * @param temperature       0 = greedy
 * @param topP              nucleus mass in (0, 1]; 1 = off
 * @param topK              0 = off
 * @param seed              seeds the sampler: equal seeds give equal samples
 * @param maxTokens         new tokens at most (>= 1)
 * @param stop              stop strings; generation ends before the first occurrence of any
 * @param repetitionPenalty Hugging Face's: positive logits / p, negative * p, over prompt and output; 1 = off
 * @param topLogprobs       0..20 alternatives returned per token
 */
public record SamplingParams(double temperature, double topP, int topK, long seed, int maxTokens,
                             List<String> stop, double repetitionPenalty, int topLogprobs) {
    public static final int MAX_TOP_LOGPROBS = 20;
    public static final double MAX_TEMPERATURE = 100;

    public SamplingParams {
        stop = List.copyOf(stop);
        require(Double.isFinite(temperature) && temperature >= 0 && temperature <= MAX_TEMPERATURE,
                "sampling.temperature must be in [0, " + MAX_TEMPERATURE + "], got " + temperature);
        require(topP > 0 && topP <= 1, "sampling.top_p must be in (0, 1], got " + topP);
        require(topK >= 0, "sampling.top_k must be >= 0, got " + topK);
        require(maxTokens >= 1, "sampling.max_tokens must be >= 1, got " + maxTokens);
        require(Double.isFinite(repetitionPenalty) && repetitionPenalty > 0,
                "sampling.repetition_penalty must be > 0, got " + repetitionPenalty);
        require(topLogprobs >= 0 && topLogprobs <= MAX_TOP_LOGPROBS,
                "top_logprobs must be in [0, " + MAX_TOP_LOGPROBS + "], got " + topLogprobs);
        for (int i = 0; i < stop.size(); i++) {
            require(!stop.get(i).isEmpty(), "sampling.stop[" + i + "] must not be empty");
        }
    }

    public static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(0, 1, 0, 0, maxTokens, List.of(), 1, 0);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
