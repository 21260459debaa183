package dev.realign.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplersTest {
    private static final float[] LOGITS = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f, 0.5f};

    @Test
    void greedyPicksTheMaximumAndTheLowestIdAmongTies() {
        assertThat(new GreedySampler().sample(LOGITS, new SplittableRandom(1))).isEqualTo(1);
    }

    @Test
    void temperatureSamplingFollowsTheSoftmaxOfLogitsOverTemperature() {
        double temperature = 0.7;
        int draws = 200_000;
        int[] counts = histogram(new TemperatureSampler(temperature, 0, 1), draws, 5);
        double[] expected = softmax(LOGITS, temperature);
        for (int i = 0; i < LOGITS.length; i++) {
            assertThat(counts[i] / (double) draws).as("token %d", i).isCloseTo(expected[i], within(0.005));
        }
    }

    @Test
    void topKKeepsOnlyTheKMostLikelyTokens() {
        int[] counts = histogram(new TemperatureSampler(1.0, 2, 1), 50_000, 6);
        // Tokens 1 and 3 share the top logit; everything else is cut.
        assertThat(counts[1] + counts[3]).isEqualTo(50_000);
        assertThat((double) counts[1] / counts[3]).isCloseTo(1.0, within(0.05));
    }

    @Test
    void topPKeepsTheSmallestSetReachingTheMass() {
        double[] p = softmax(LOGITS, 1.0);
        // p(1) = p(3) ~ 0.39 each, p(2) ~ 0.14: top_p 0.8 needs tokens 1, 3 and 2.
        assertThat(p[1] + p[3]).isLessThan(0.8);
        assertThat(p[1] + p[3] + p[2]).isGreaterThan(0.8);
        int[] counts = histogram(new TemperatureSampler(1.0, 0, 0.8), 100_000, 7);
        assertThat(counts[0] + counts[4] + counts[5]).isZero();
        double kept = p[1] + p[2] + p[3];
        assertThat(counts[2] / 100_000.0).isCloseTo(p[2] / kept, within(0.01));
    }

    @Test
    void equalSeedsGiveEqualSamples() {
        SamplingParams params = new SamplingParams(1.3, 0.9, 4, 99, 8, List.of(), 1, 0);
        Sampler sampler = Samplers.forParams(params);
        SplittableRandom a = new SplittableRandom(params.seed());
        SplittableRandom b = new SplittableRandom(params.seed());
        for (int i = 0; i < 100; i++) {
            assertThat(sampler.sample(LOGITS, a)).isEqualTo(sampler.sample(LOGITS, b));
        }
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokens() {
        float[] logits = {2.0f, -2.0f, 2.0f, -2.0f};
        RepetitionPenalty penalty = new RepetitionPenalty(2.0, new int[] {0, 1});
        penalty.record(3);
        penalty.apply(logits);
        assertThat(logits).containsExactly(1.0f, -4.0f, 2.0f, -4.0f);
    }

    @Test
    void logprobsAreTheLogSoftmaxOfTheRawLogits() {
        TokenLogprobs lp = TokenLogprobs.of(LOGITS, 2, 3);
        double[] p = softmax(LOGITS, 1.0);
        assertThat((double) lp.logprob()).isCloseTo(Math.log(p[2]), within(1e-6));
        assertThat(lp.top()).extracting(TokenLogprobs.Alternative::tokenId).containsExactly(1, 3, 2);
        assertThat((double) lp.top().get(0).logprob()).isCloseTo(Math.log(p[1]), within(1e-6));
    }

    @Test
    void outOfRangeParametersNameTheirField() {
        assertThatThrownBy(() -> new SamplingParams(-0.1, 1, 0, 0, 1, List.of(), 1, 0))
                .hasMessageContaining("sampling.temperature");
        assertThatThrownBy(() -> new SamplingParams(1, 0, 0, 0, 1, List.of(), 1, 0)).hasMessageContaining("sampling.top_p");
        assertThatThrownBy(() -> new SamplingParams(1, 1, -1, 0, 1, List.of(), 1, 0)).hasMessageContaining("sampling.top_k");
        assertThatThrownBy(() -> new SamplingParams(1, 1, 0, 0, 0, List.of(), 1, 0)).hasMessageContaining("sampling.max_tokens");
        assertThatThrownBy(() -> new SamplingParams(1, 1, 0, 0, 1, List.of(), Double.NaN, 0))
                .hasMessageContaining("sampling.repetition_penalty");
        assertThatThrownBy(() -> new SamplingParams(1, 1, 0, 0, 1, List.of(), 1, 21)).hasMessageContaining("top_logprobs");
    }

    private static int[] histogram(Sampler sampler, int draws, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(LOGITS, random)]++;
        }
        return counts;
    }

    private static double[] softmax(float[] logits, double temperature) {
        int n = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((logits[i] - max) / temperature);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
