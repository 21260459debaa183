package dev.realign.client.sweep;

import dev.realign.api.v1.SweepPoint;
import dev.realign.api.v1.SweepRecommendation;
import java.util.Locale;

/** The text a person reads after a sweep: one table row per point, then the recommendation line. */
public final class SweepTable {

    private SweepTable() {
    }

    /** A Markdown table (method, ratio, refusal, over-refusal, task, tokens/s); "-" where nothing was measured. */
    public static String render(SweepResults results) {
        int width = "method".length();
        for (SweepPoint p : results.points()) {
            width = Math.max(width, p.getMethod().name().length());
        }
        var text = new StringBuilder();
        text.append(String.format(Locale.ROOT, "| %-" + width + "s | ratio | refusal | over-refusal |   task | tokens/s |\n",
                "method"));
        text.append("|:").append("-".repeat(width + 1)).append("|------:|--------:|-------------:|-------:|---------:|\n");
        for (SweepPoint p : results.points()) {
            text.append(String.format(Locale.ROOT, "| %-" + width + "s | %5s | %7s | %12s | %6s | %8.1f |\n",
                    p.getMethod().name(), RatioGrid.format(p.getRatio()), percent(p.getRefusalRate()),
                    results.overRefusalMeasured() ? percent(p.getOverRefusalRate()) : "-",
                    percent(p.getTaskScore()), p.getTokensPerSecond()));
        }
        return text.toString();
    }

    /**
     * "recommended: LINEAR at ratio 0.7 (refusal 90.0% >= floor 85.0%, task 80.0%)", or
     * "no recommendation: " and the server's reason.
     */
    public static String recommendation(SweepRecommendation recommendation, double refusalFloor) {
        if (!recommendation.getFound()) {
            String reason = recommendation.getReason().isBlank() ? "the server gave no reason" : recommendation.getReason();
            return "no recommendation: " + reason;
        }
        SweepPoint p = recommendation.getPoint();
        return String.format(Locale.ROOT, "recommended: %s at ratio %s (refusal %s >= floor %s, task %s)",
                p.getMethod().name(), RatioGrid.format(p.getRatio()), percent(p.getRefusalRate()),
                percent(refusalFloor), percent(p.getTaskScore()));
    }

    static String percent(double fraction) {
        return Double.isNaN(fraction) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
    }
}
