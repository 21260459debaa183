package dev.realign.realign;

import java.util.Arrays;

/**
 * IRR's Identify and Remove for one column block of one weight matrix: which delta entries to reset to the
 * aligned value. A candidate is an entry whose delta's sign differs from the safety vector's (sign as torch's:
 * -1, 0 or +1, so a zero delta against a nonzero safety entry, or the reverse, conflicts). Candidates are
 * ranked by safety importance (the aligned model's diagonal Fisher) and all but the
 * {@code floor(candidates * sparsity)} least important are removed.
 *
 * <p>As in the authors' code, ranking is an ascending stable sort of the scores in row-major order within the
 * block, and the top of that order is removed; with {@code removeMore} every entry is a candidate and agreeing
 * entries score {@code -fisher}, so they rank below every conflicting one and the least important go first.
 */
final class RemovalSelector {
    private RemovalSelector() {}

    /**
     * @param delta  the block's current delta, (rows, count) row-major
     * @param safety the block's safety vector W_aligned - W_unaligned, same layout
     * @param fisher the block's importance, same layout, non-negative
     * @return removal mask, same layout
     */
    static boolean[] select(double[] delta, float[] safety, float[] fisher, double sparsity, boolean removeMore) {
        int n = delta.length;
        if (safety.length != n || fisher.length != n) {
            throw new IllegalArgumentException("block sizes differ: delta " + n + ", safety " + safety.length
                    + ", fisher " + fisher.length);
        }
        // Sort keys: the score's float bits mapped to an order-preserving int in the high half, the row-major index
        // in the low half. One primitive sort then ranks by score with ties in row-major order, as the authors'
        // stable torch.sort does; + 0f turns -0.0 into 0.0 so that both compare equal, as in torch.
        long[] keys = new long[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            boolean conflicting = Math.signum(delta[i]) != Math.signum(safety[i]);
            if (conflicting || removeMore) {
                float score = (conflicting ? fisher[i] : -fisher[i]) + 0f;
                keys[count++] = ((long) sortable(score) << 32) | i;
            }
        }
        Arrays.sort(keys, 0, count);
        boolean[] removed = new boolean[n];
        int kept = (int) (count * sparsity);
        for (int k = kept; k < count; k++) {
            removed[(int) keys[k]] = true; // the low half: the index
        }
        return removed;
    }

    /** Float bits as an int that orders like the float (negative values: all but the sign bit flipped). */
    private static int sortable(float value) {
        int bits = Float.floatToIntBits(value);
        return bits ^ ((bits >> 31) & 0x7fffffff);
    }

    /** Entries whose delta's sign differs from the safety vector's. */
    static long conflicting(double[] delta, float[] safety) {
        long c = 0;
        for (int i = 0; i < delta.length; i++) {
            if (Math.signum(delta[i]) != Math.signum(safety[i])) {
                c++;
            }
        }
        return c;
    }
}
