package dev.realign.client.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class PercentilesTest {

    @Test
    void nearestRankOnOneToHundred() {
        long[] values = LongStream.rangeClosed(1, 100).map(v -> 101 - v).toArray(); // unsorted on purpose
        assertThat(Percentiles.of(values, 50)).isEqualTo(50);
        assertThat(Percentiles.of(values, 99)).isEqualTo(99);
        assertThat(Percentiles.of(values, 100)).isEqualTo(100);
        assertThat(values[0]).as("input left unsorted").isEqualTo(100);
    }

    @Test
    void smallSamplesGiveObservedValues() {
        assertThat(Percentiles.of(new long[] {7}, 50)).isEqualTo(7);
        assertThat(Percentiles.of(new long[] {7}, 99)).isEqualTo(7);
        // Of 10 values, p99 is the largest and p50 the 5th: a p99 over few samples is the max, not an estimate.
        long[] ten = {10, 20, 30, 40, 50, 60, 70, 80, 90, 1000};
        assertThat(Percentiles.of(ten, 50)).isEqualTo(50);
        assertThat(Percentiles.of(ten, 99)).isEqualTo(1000);
    }

    @Test
    void emptyIsNaNAndBadPercentilesAreRejected() {
        assertThat(Percentiles.of(new long[0], 50)).isNaN();
        assertThatThrownBy(() -> Percentiles.of(new long[] {1}, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Percentiles.of(new long[] {1}, 101)).isInstanceOf(IllegalArgumentException.class);
    }
}
