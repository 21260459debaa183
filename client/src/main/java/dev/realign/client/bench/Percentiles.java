package dev.realign.client.bench;

import java.util.Arrays;

/** Nearest-rank percentiles: always a value that was observed, which is what a latency SLO is stated in. */
final class Percentiles {

    private Percentiles() {
    }

    /**
     * The smallest value with at least {@code p} percent of the values at or below it, or NaN when there are
     * none. {@code values} need not be sorted and is not changed.
     */
    static double of(long[] values, double p) {
        if (values.length == 0) {
            return Double.NaN;
        }
        if (!(p > 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must be in (0, 100], got " + p);
        }
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(rank, 1) - 1];
    }
}
