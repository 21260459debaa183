package dev.realign.client.bench;

/**
 * The median and 99th percentile of one latency, in milliseconds (NaN when nothing was measured).
 *
 * @param samples how many values the percentiles were taken over
 */
public record Latency(double p50Ms, double p99Ms, int samples) {

    static Latency ofNanos(long[] nanos) {
        return new Latency(Percentiles.of(nanos, 50) / 1e6, Percentiles.of(nanos, 99) / 1e6, nanos.length);
    }
}
