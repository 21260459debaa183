package dev.realign.realign;

/**
 * One progress report of an IRR run, for a job runner to stream.
 *
 * @param stage    what the run is doing
 * @param layer    the decoder layer being realigned (-1 outside {@link Stage#REALIGN})
 * @param tensor   the tensor just realigned, or null
 * @param fraction how much of the stage is done, in [0, 1]
 */
public record IrrProgress(Stage stage, int layer, String tensor, double fraction) {
    public enum Stage {
        /** The safety importance: one report per batch of safety sequences. */
        FISHER,
        /** Identify, Remove and Recalibrate, layer by layer: one report per tensor. */
        REALIGN,
        /** The run finished; the result is ready. */
        DONE
    }
}
