package dev.realign.realign;

/**
 * One progress report of a SOMF run.
 *
 * @param stage    what the run is doing
 * @param step     optimizer steps done (0 outside {@link Stage#TRAIN})
 * @param steps    optimizer steps in the run
 * @param loss     the step's DPO loss (NaN outside {@link Stage#TRAIN})
 * @param fraction how much of the stage is done, in [0, 1]
 */
public record SomfProgress(Stage stage, int step, int steps, double loss, double fraction) {
    public enum Stage {
        /** The reference model's answer log-probabilities, once per pair. */
        REFERENCE,
        /** One report per optimizer step on the mask logits. */
        TRAIN,
        /** The binary mask is drawn and the fused delta built; the result is ready. */
        DONE
    }
}
