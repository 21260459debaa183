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
        int[] candidates = new int[n];
        double[] scores = new double[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            boolean conflicting = Math.signum(delta[i]) != Math.signum(safety[i]);
            if (conflicting || removeMore) {
                candidates[count] = i;
                scores[i] = conflicting ? fisher[i] : -fisher[i];
                count++;
            }
        }
        Integer[] order = new Integer[count];
        for (int i = 0; i < count; i++) {
            order[i] = candidates[i];
        }
        // Arrays.sort on objects is stable: equal scores keep row-major order, as torch.sort(stable=True).
        // (Comparing with < rather than Double.compare keeps -0.0 and 0.0 equal, as torch does.)
        Arrays.sort(order, (a, b) -> scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : 0);
        boolean[] removed = new boolean[n];
        int kept = (int) (count * sparsity);
        for (int i = kept; i < count; i++) {
            removed[order[i]] = true;
        }
        return removed;
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
