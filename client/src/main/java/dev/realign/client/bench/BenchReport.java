package dev.realign.client.bench;

import io.grpc.Status;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The result of a load run.
 *
 * @param concurrency       streams kept in flight
 * @param profiles          distinct (adapter, ratio) pairs cycled through (1 = the base model)
 * @param requests          requests measured (warm-up excluded), completed or failed
 * @param completed         requests whose stream ended normally
 * @param errors            failed requests by gRPC status code name, sorted by name
 * @param completionTokens  new tokens received over all measured requests
 * @param wallSeconds       from the first measured request's start to the last one's end
 * @param tokensPerSecond   aggregate decode throughput: completionTokens / wallSeconds
 * @param requestsPerSecond completed requests / wallSeconds
 * @param timeToFirstToken  from sending a request to its first token
 * @param tokenGap          between consecutive token-carrying chunks of one stream (per-token latency)
 */
public record BenchReport(int concurrency, int profiles, int requests, int completed, Map<String, Long> errors,
        long completionTokens, double wallSeconds, double tokensPerSecond, double requestsPerSecond,
        Latency timeToFirstToken, Latency tokenGap) {

    public BenchReport {
        errors = Collections.unmodifiableMap(new TreeMap<>(errors));
    }

    static BenchReport of(BenchPlan plan, Collection<RequestOutcome> outcomes) {
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        long tokens = 0;
        int completed = 0;
        var errors = new TreeMap<String, Long>();
        var ttfts = new ArrayList<Long>();
        var gaps = new ArrayList<Long>();
        for (var outcome : outcomes) {
            first = Math.min(first, outcome.startNanos());
            last = Math.max(last, outcome.endNanos());
            tokens += outcome.completionTokens();
            if (outcome.ok()) {
                completed++;
            } else {
                errors.merge(outcome.error().name(), 1L, Long::sum);
            }
            if (outcome.ttftNanos() >= 0) {
                ttfts.add(outcome.ttftNanos());
            }
            var chunks = outcome.tokenChunkNanos();
            for (int i = 1; i < chunks.size(); i++) {
                gaps.add(chunks.get(i) - chunks.get(i - 1));
            }
        }
        double wall = outcomes.isEmpty() ? 0 : (last - first) / 1e9;
        return new BenchReport(plan.concurrency(), plan.profileCount(), outcomes.size(), completed, errors, tokens,
                wall, wall > 0 ? tokens / wall : 0, wall > 0 ? completed / wall : 0,
                Latency.ofNanos(unbox(ttfts)), Latency.ofNanos(unbox(gaps)));
    }

    /** Failed requests with this status. */
    public long errorCount(Status.Code code) {
        return errors.getOrDefault(code.name(), 0L);
    }

    /** A small aligned table for people; {@link #toJson()} is for scripts. */
    public String toText() {
        var rows = new ArrayList<String[]>();
        rows.add(new String[] {"concurrency", Integer.toString(concurrency)});
        rows.add(new String[] {"profiles", Integer.toString(profiles)});
        rows.add(new String[] {"requests", requests + " (" + completed + " completed)"});
        rows.add(new String[] {"completion tokens", Long.toString(completionTokens)});
        rows.add(new String[] {"wall time", fixed(wallSeconds, 2) + " s"});
        rows.add(new String[] {"throughput", fixed(tokensPerSecond, 1) + " tokens/s"});
        rows.add(new String[] {"requests/s", fixed(requestsPerSecond, 2)});
        rows.add(new String[] {"time to first token", latency(timeToFirstToken)});
        rows.add(new String[] {"per-token latency", latency(tokenGap)});
        if (errors.isEmpty()) {
            rows.add(new String[] {"errors", "none"});
        } else {
            errors.forEach((code, count) -> rows.add(new String[] {"errors " + code, Long.toString(count)}));
        }
        int width = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0);
        var text = new StringBuilder();
        for (var row : rows) {
            text.append(String.format(Locale.ROOT, "%-" + width + "s  %s%n", row[0], row[1]));
        }
        return text.toString();
    }

    /** One JSON object, the record's fields by name, milliseconds and seconds as plain numbers. */
    public String toJson() {
        return ReportJson.write(this);
    }

    private static String latency(Latency latency) {
        return latency.samples() == 0 ? "n/a"
                : "p50 " + fixed(latency.p50Ms(), 2) + " ms, p99 " + fixed(latency.p99Ms(), 2) + " ms";
    }

    private static String fixed(double value, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", value);
    }

    private static long[] unbox(List<Long> values) {
        return values.stream().mapToLong(Long::longValue).toArray();
    }
}
