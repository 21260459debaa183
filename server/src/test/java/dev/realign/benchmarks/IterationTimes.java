package dev.realign.benchmarks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * Wall times the benchmarks take themselves, for the derived figures (GB/s, tokens/s, share of a bound)
 * they print at the end of a trial, which JMH's score cannot carry. Only measurement iterations count, as
 * in JMH's score; every operation here takes a second or more, so the two clock reads cost nothing.
 */
final class IterationTimes {
    private final List<Double> seconds = new ArrayList<>();
    private boolean measuring;

    /** Call from a {@code @Setup(Level.Iteration)} method. */
    void begin(IterationParams iteration) {
        measuring = iteration.getType() == IterationType.MEASUREMENT;
    }

    void record(long nanos) {
        if (measuring) {
            seconds.add(nanos / 1e9);
        }
    }

    boolean isMeasuring() {
        return measuring;
    }

    /** The median of the measured operations, in seconds (NaN before any). */
    double medianSeconds() {
        return median(seconds);
    }

    static double median(List<Double> values) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
