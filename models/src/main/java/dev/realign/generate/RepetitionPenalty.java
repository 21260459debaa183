package dev.realign.generate;

import java.util.BitSet;

/**
 * Hugging Face's repetition penalty (CTRL paper): every token already in the prompt or the output has its
 * logit divided by the penalty if positive and multiplied by it if negative.
 */
public final class RepetitionPenalty {
    private final double penalty;
    private final BitSet seen = new BitSet();

    public RepetitionPenalty(double penalty, int[] prompt) {
        this.penalty = penalty;
        for (int id : prompt) {
            seen.set(id);
        }
    }

    public void record(int token) {
        seen.set(token);
    }

    public void apply(float[] logits) {
        if (penalty == 1) {
            return;
        }
        for (int id = seen.nextSetBit(0); id >= 0 && id < logits.length; id = seen.nextSetBit(id + 1)) {
            logits[id] = (float) (logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty);
        }
    }
}
