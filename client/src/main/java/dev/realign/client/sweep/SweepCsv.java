package dev.realign.client.sweep;

import dev.realign.api.v1.SweepPoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A sweep as CSV (RFC 4180): a header, then one row per point. Numbers are written in full (Java's shortest
 * round-tripping form, never a locale's decimal comma); an unmeasured over-refusal rate is an empty cell.
 */
public final class SweepCsv {

    static final String HEADER = "method,ratio,refusal_rate,over_refusal_rate,task_score,tokens_per_second,profile_key";

    private SweepCsv() {
    }

    public static String render(SweepResults results) {
        var csv = new StringBuilder(HEADER).append("\r\n");
        for (SweepPoint p : results.points()) {
            csv.append(p.getMethod().name()).append(',')
                    .append(RatioGrid.format(p.getRatio())).append(',')
                    .append(p.getRefusalRate()).append(',')
                    .append(results.overRefusalMeasured() ? Double.toString(p.getOverRefusalRate()) : "").append(',')
                    .append(p.getTaskScore()).append(',')
                    .append(p.getTokensPerSecond()).append(',')
                    .append(quoted(p.getProfileKey())).append("\r\n");
        }
        return csv.toString();
    }

    /** @throws UncheckedIOException naming the file */
    public static void write(SweepResults results, Path file) {
        try {
            Files.writeString(file, render(results), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write CSV file " + file + ": " + e.getMessage(), e);
        }
    }

    /** A profile key may hold commas (several adapters): quote such a cell, doubling its quotes. */
    private static String quoted(String cell) {
        if (cell.indexOf(',') < 0 && cell.indexOf('"') < 0 && cell.indexOf('\n') < 0 && cell.indexOf('\r') < 0) {
            return cell;
        }
        return '"' + cell.replace("\"", "\"\"") + '"';
    }
}
