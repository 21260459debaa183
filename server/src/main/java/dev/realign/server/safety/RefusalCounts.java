package dev.realign.server.safety;

import dev.realign.server.metrics.RequestObserver;
import dev.realign.server.metrics.RequestRecord;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Responses and refusals counted per tenant, adapter set and profile, since the server started: what
 * {@code Safety.GetMetrics} answers. Kept whether or not the Prometheus endpoint is on.
 */
public final class RefusalCounts implements RequestObserver {
    /** @param adapters the registry names of the profile's adapters joined by '+', or "base" */
    public record Key(String tenant, String adapters, String profileKey) {
    }

    /** One row of counts. */
    public record Count(Key key, long responses, long refusals) {
        public double refusalRate() {
            return responses == 0 ? 0 : (double) refusals / responses;
        }
    }

    private record Counters(LongAdder responses, LongAdder refusals) {
    }

    private final ConcurrentHashMap<Key, Counters> counts = new ConcurrentHashMap<>();

    @Override
    public void onFinished(RequestRecord r) {
        if (r.verdict() == null) {
            return; // no response was sent, so there is nothing to judge
        }
        Counters c = counts.computeIfAbsent(new Key(r.tenant(), r.adapters(), r.profileKey()),
                k -> new Counters(new LongAdder(), new LongAdder()));
        c.responses().increment();
        if (r.verdict().refused()) {
            c.refusals().increment();
        }
    }

    /** The rows of one tenant, sorted by adapters then profile. */
    public List<Count> forTenant(String tenant) {
        return counts.entrySet().stream().filter(e -> e.getKey().tenant().equals(tenant))
                .map(e -> new Count(e.getKey(), e.getValue().responses().sum(), e.getValue().refusals().sum()))
                .sorted(Comparator.comparing((Count c) -> c.key().adapters()).thenComparing(c -> c.key().profileKey()))
                .toList();
    }
}
