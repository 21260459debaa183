package dev.realign.realign;

/**
 * What IRR did to one weight matrix.
 *
 * @param tensor           the checkpoint name
 * @param entries          elements of the matrix
 * @param conflicting      entries whose fine-tuning delta's sign differs from the safety vector's (IRR's candidates)
 * @param removed          entries reset to the aligned value
 * @param errorRemoveOnly  mean squared output error per calibration token, ||(W_ft - W_removed) X||^2 / n, of
 *                         resetting the removed entries without compensation (NaN without calibration inputs)
 * @param errorAfter       the same for the result W', ||(W_ft - W') X||^2 / n; equal to errorRemoveOnly in
 *                         remove-only runs, lower when the recalibration compensated
 */
public record IrrTensorStats(String tensor, long entries, long conflicting, long removed, double errorRemoveOnly,
                             double errorAfter) {
    /** Share of the entries that conflict in sign with the safety vector. */
    public double conflictShare() {
        return entries == 0 ? 0 : (double) conflicting / entries;
    }

    /** Share of the entries removed. */
    public double removedShare() {
        return entries == 0 ? 0 : (double) removed / entries;
    }
}
