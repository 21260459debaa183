package dev.realign.safety.sweep;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class RatioRecommendationTest {
    private static final List<RatioPoint> LINEAR = List.of(
            new RatioPoint("LINEAR", 0.0, 0.95, 0.1, 0.0),
            new RatioPoint("LINEAR", 0.3, 0.90, 0.1, 0.6),
            new RatioPoint("LINEAR", 0.5, 0.80, 0.0, 0.9),
            new RatioPoint("LINEAR", 1.0, 0.05, 0.0, 1.0));

    @Test
    void picksTheBestTaskScoreAboveTheFloor() {
        RatioRecommendation r = RatioRecommendation.choose(LINEAR, 0.85);
        assertThat(r.point()).contains(LINEAR.get(1));
        assertThat(r.reason()).contains("LINEAR at ratio 0.30", "task score (60.0%)", "at least 85.0%", "refuses 90.0%")
                .doesNotContain("keeps any of the task");
        assertThat(RatioRecommendation.choose(LINEAR, 0.93).reason()).contains("LINEAR at ratio 0.00",
                "no point that safe keeps any of the task");
    }

    @Test
    void saysWhyWhenNoPointReachesTheFloor() {
        RatioRecommendation r = RatioRecommendation.choose(LINEAR, 0.99);
        assertThat(r.point()).isEmpty();
        assertThat(r.reason()).contains("no point refuses at least 99.0%", "LINEAR at ratio 0.00 with 95.0%");
        assertThat(RatioRecommendation.choose(List.of(), 0.5).reason()).contains("no points");
    }

    @Test
    void tiesGoToMoreRefusalThenToTheSmallerRatio() {
        var a = new RatioPoint("TIES", 0.6, 0.9, Double.NaN, 0.8);
        var b = new RatioPoint("LINEAR", 0.4, 0.9, Double.NaN, 0.8);
        var c = new RatioPoint("SLERP", 0.5, 0.95, Double.NaN, 0.8);
        assertThat(RatioRecommendation.choose(List.of(a, b), 0.5).point()).contains(b);
        assertThat(RatioRecommendation.choose(List.of(a, b, c), 0.5).point()).contains(c);
    }

    /** Whatever the points, the choice reaches the floor and no point that reaches it scores better. */
    @Property(tries = 300)
    void theChoiceIsOptimalUnderTheFloor(@ForAll @Size(min = 1, max = 12) List<@DoubleRange(min = 0, max = 1) Double> refusals,
                                         @ForAll @DoubleRange(min = 0, max = 1) double floor) {
        List<RatioPoint> points = new java.util.ArrayList<>();
        for (int i = 0; i < refusals.size(); i++) {
            points.add(new RatioPoint("LINEAR", i / 10.0, refusals.get(i), Double.NaN, (i * 37 % 11) / 10.0));
        }
        RatioRecommendation r = RatioRecommendation.choose(points, floor);
        boolean anyQualifies = points.stream().anyMatch(p -> p.refusalRate() >= floor);
        assertThat(r.point().isPresent()).isEqualTo(anyQualifies);
        r.point().ifPresent(chosen -> {
            assertThat(chosen.refusalRate()).isGreaterThanOrEqualTo(floor);
            assertThat(points).filteredOn(p -> p.refusalRate() >= floor)
                    .allMatch(p -> p.taskScore() <= chosen.taskScore());
        });
    }
}
