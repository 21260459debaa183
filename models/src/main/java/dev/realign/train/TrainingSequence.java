package dev.realign.train;

/**
 * One training sequence: prompt and answer tokens, with the loss taken only on the answer (supervised
 * fine-tuning): position t predicts token t+1 for t + 1 >= {@code lossFrom}.
 *
 * @param tokens   prompt (as the chat template renders it for generation) followed by the answer and its end token
 * @param lossFrom index of the first answer token
 */
public record TrainingSequence(int[] tokens, int lossFrom) {
    public TrainingSequence {
        if (tokens.length < 2) {
            throw new IllegalArgumentException("a training sequence needs at least 2 tokens, got " + tokens.length);
        }
        if (lossFrom < 1 || lossFrom >= tokens.length) {
            throw new IllegalArgumentException("lossFrom " + lossFrom + " outside 1.." + (tokens.length - 1));
        }
        tokens = tokens.clone();
    }

    /** Number of predicted (loss-bearing) tokens. */
    public int targets() {
        return tokens.length - lossFrom;
    }
}
