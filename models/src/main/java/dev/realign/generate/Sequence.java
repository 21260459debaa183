package dev.realign.generate;

import dev.realign.model.KvCache;
import dev.realign.model.SequenceChunk;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * One request's generation state: its prompt, KV cache, sampler and the text streamed so far. The
 * engine asks it for the next chunk to run and hands back the logits; the sequence samples, detokenizes
 * and decides when it is done. Closing it frees its KV cache.
 */
public final class Sequence implements AutoCloseable {
    private final int[] prompt;
    private final KvCache cache;
    private final SamplingParams params;
    private final Sampler sampler;
    private final RandomGenerator random;
    private final RepetitionPenalty penalty;
    private final TextStream text;
    private final StopMatcher stops;
    private final Set<Integer> endTokens;
    private int generated;
    private int lastToken = -1;
    private FinishReason finish;

    /**
     * @param cache     sized for prompt + max tokens (the caller bounds both by the context)
     * @param endTokens ids that end generation (EOS of config and generation config)
     */
    public Sequence(int[] prompt, KvCache cache, SamplingParams params, TextStream text, Set<Integer> endTokens) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt must hold at least one token");
        }
        if (prompt.length >= cache.capacity()) {
            throw new IllegalArgumentException("prompt of " + prompt.length
                    + " tokens leaves no room to generate in a cache of " + cache.capacity());
        }
        this.prompt = prompt.clone();
        this.cache = cache;
        this.params = params;
        this.sampler = Samplers.forParams(params);
        this.random = new SplittableRandom(params.seed());
        this.penalty = new RepetitionPenalty(params.repetitionPenalty(), prompt);
        this.text = text;
        this.stops = new StopMatcher(params.stop());
        this.endTokens = Set.copyOf(endTokens);
    }

    /** The tokens to run next: the whole prompt first, then the last sampled token. */
    public SequenceChunk nextChunk() {
        if (finished()) {
            throw new IllegalStateException("sequence already finished (" + finish + ")");
        }
        return lastToken < 0 ? new SequenceChunk(cache, prompt) : new SequenceChunk(cache, new int[] {lastToken});
    }

    /** Samples from the logits of the last position, (vocab), and advances. */
    public StepOutput accept(float[] logits) {
        float[] adjusted = logits;
        if (params.repetitionPenalty() != 1) {
            adjusted = logits.clone(); // log-probabilities report the model's own distribution
            penalty.apply(adjusted);
        }
        int token = sampler.sample(adjusted, random);
        TokenLogprobs logprobs = TokenLogprobs.of(logits, token, params.topLogprobs());
        penalty.record(token);
        generated++;
        lastToken = token;

        String piece;
        if (endTokens.contains(token)) {
            finish = FinishReason.STOP;
            piece = stops.push(text.flush()) + stops.flush();
        } else {
            piece = stops.push(text.push(token));
            if (stops.stopped()) {
                finish = FinishReason.STOP;
            } else if (generated >= params.maxTokens() || cache.length() >= cache.capacity()) {
                piece += stops.push(text.flush()) + stops.flush();
                finish = stops.stopped() ? FinishReason.STOP : FinishReason.LENGTH;
            }
        }
        return new StepOutput(token, piece, logprobs, finish);
    }

    public boolean finished() {
        return finish != null;
    }

    public FinishReason finishReason() {
        return finish;
    }

    /** Ends the sequence early (cancel, deadline). */
    public void abort() {
        if (finish == null) {
            finish = FinishReason.STOP;
        }
    }

    public int promptTokens() {
        return prompt.length;
    }

    public int generatedTokens() {
        return generated;
    }

    @Override
    public void close() {
        cache.close();
    }
}
