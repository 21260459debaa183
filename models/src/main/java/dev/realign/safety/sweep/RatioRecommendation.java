package dev.realign.safety.sweep;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The answer to a safety engineer's question: of the points a sweep measured, the one with the best task score
 * among those that refuse at least {@code floor} of the harmful prompts. Ties go to the higher refusal rate,
 * then to the smaller ratio (closer to the aligned model).
 *
 * @param point  the recommended point, empty when no point reaches the floor
 * @param reason why this point, or why none, in a sentence for people
 */
public record RatioRecommendation(Optional<RatioPoint> point, String reason) {
    private static final Comparator<RatioPoint> PREFERENCE = Comparator.comparingDouble(RatioPoint::taskScore)
            .thenComparingDouble(RatioPoint::refusalRate)
            .thenComparing(Comparator.comparingDouble(RatioPoint::ratio).reversed());

    /** @param floor the lowest acceptable refusal rate, 0..1 */
    public static RatioRecommendation choose(List<RatioPoint> points, double floor) {
        if (points.isEmpty()) {
            return new RatioRecommendation(Optional.empty(), "the sweep measured no points");
        }
        Optional<RatioPoint> best = points.stream().filter(p -> p.refusalRate() >= floor).max(PREFERENCE);
        if (best.isPresent()) {
            RatioPoint p = best.get();
            String reason = String.format(Locale.ROOT,
                    "%s at ratio %s has the best task score (%s) among the points refusing at least %s "
                            + "of harmful prompts (it refuses %s)",
                    p.method(), ratio(p.ratio()), percent(p.taskScore()), percent(floor), percent(p.refusalRate()));
            if (p.taskScore() == 0) {
                reason += "; no point that safe keeps any of the task: lower the floor or try another method";
            }
            return new RatioRecommendation(best, reason);
        }
        RatioPoint safest = points.stream().max(Comparator.comparingDouble(RatioPoint::refusalRate)
                .thenComparingDouble(RatioPoint::taskScore)).orElseThrow();
        return new RatioRecommendation(Optional.empty(), String.format(Locale.ROOT,
                "no point refuses at least %s of harmful prompts; the most refusing is %s at ratio %s with %s "
                        + "(task score %s)",
                percent(floor), safest.method(), ratio(safest.ratio()), percent(safest.refusalRate()),
                percent(safest.taskScore())));
    }

    private static String percent(double share) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * share);
    }

    private static String ratio(double ratio) {
        return String.format(Locale.ROOT, "%.2f", ratio);
    }
}
