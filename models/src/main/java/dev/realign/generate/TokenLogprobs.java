package dev.realign.generate;

import java.util.List;

/** Natural-log probabilities of a chosen token and of the most likely alternatives, best first. */
public record TokenLogprobs(int tokenId, float logprob, List<Alternative> top) {
    public record Alternative(int tokenId, float logprob) {}

    public TokenLogprobs {
        top = List.copyOf(top);
    }

    /**
     * From raw logits (the model's distribution, before penalties and temperature), computed in double.
     */
    public static TokenLogprobs of(float[] logits, int chosen, int topCount) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double logNormalizer = max + Math.log(sum);
        List<Alternative> top = List.of();
        if (topCount > 0) {
            int[] best = TopK.indices(logits, topCount);
            Alternative[] alternatives = new Alternative[best.length];
            for (int i = 0; i < best.length; i++) {
                alternatives[i] = new Alternative(best[i], (float) (logits[best[i]] - logNormalizer));
            }
            top = List.of(alternatives);
        }
        return new TokenLogprobs(chosen, (float) (logits[chosen] - logNormalizer), top);
    }
}
