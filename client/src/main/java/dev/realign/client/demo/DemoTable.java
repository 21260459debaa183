package dev.realign.client.demo;

import dev.realign.api.v1.SweepPoint;
import dev.realign.client.sweep.RatioGrid;
import dev.realign.client.sweep.SweepResults;
import java.util.Locale;

/** The demo's table for one adapter, from its sweep: ratio, harmful refused, benign refused, task accuracy. */
public final class DemoTable {

    private DemoTable() {
    }

    public static String render(String adapter, SweepResults results) {
        var text = new StringBuilder(adapter).append('\n')
                .append("| ratio | harmful refused | benign refused | task accuracy |\n")
                .append("|------:|----------------:|---------------:|--------------:|\n");
        for (SweepPoint p : results.points()) {
            text.append(String.format(Locale.ROOT, "| %5s | %14.1f%% | %13.1f%% | %12.1f%% |\n",
                    ratio(p.getRatio()), 100 * p.getRefusalRate(), 100 * p.getOverRefusalRate(), 100 * p.getTaskScore()));
        }
        return text.toString();
    }

    /** 0.0, 0.3, 1.0 as the table always showed them, and 0.05 in full rather than rounded to 0.1. */
    static String ratio(double ratio) {
        String text = RatioGrid.format(ratio);
        return text.contains(".") ? text : text + ".0";
    }
}
