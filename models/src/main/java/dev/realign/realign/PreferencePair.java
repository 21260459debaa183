package dev.realign.realign;

import dev.realign.train.TrainingSequence;

/**
 * One safety preference: a harmful prompt with the safe answer (chosen) and the compliant one (rejected). Both
 * sequences hold the same prompt followed by their answer; only the answer tokens enter the log-probabilities.
 */
public record PreferencePair(TrainingSequence chosen, TrainingSequence rejected) {
    public PreferencePair {
        if (chosen.lossFrom() != rejected.lossFrom()) {
            throw new IllegalArgumentException("chosen and rejected must share the prompt: answers start at "
                    + chosen.lossFrom() + " and " + rejected.lossFrom());
        }
    }
}
