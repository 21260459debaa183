package dev.realign.server.models;

import dev.realign.merge.MergedProfile;
import dev.realign.merge.ProfileKey;
import dev.realign.model.LoadedModel;
import dev.realign.server.adapters.AdapterRegistry;
import dev.realign.server.cache.ProfileCache;
import dev.realign.server.profiles.Profiles;
import dev.realign.server.schedule.Scheduler;
import io.grpc.Status;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The base models this server serves, each with its scheduler. The first one registered is the default
 * that requests with an empty {@code model} get.
 */
public final class ModelRegistry implements AutoCloseable {
    /** A served base model: its weights, the scheduler that runs it, and the cache of its merged profiles. */
    public record Entry(LoadedModel model, Scheduler scheduler, AdapterRegistry adapters, Profiles merges,
                        ProfileCache profiles) {
        public ProfileKey baseKey() {
            return ProfileKey.base(model.id());
        }
    }

    private final SequencedMap<String, Entry> entries = new LinkedHashMap<>();

    public synchronized void add(LoadedModel model, ServingLimits limits) {
        if (entries.containsKey(model.id())) {
            throw new IllegalArgumentException("model id '" + model.id() + "' registered twice");
        }
        MergedProfile base = MergedProfile.unmerged(ProfileKey.base(model.id()), model.weights());
        AdapterRegistry adapters = new AdapterRegistry(model);
        Profiles merges = new Profiles(model, adapters);
        ProfileCache cache = new ProfileCache(base, merges::build, limits.profileCacheMiB(), limits.concurrentMerges(),
                limits.queuedMerges());
        // A swapped-out or unloaded version leaves the cache with every profile built on it.
        adapters.onRetired(retired -> cache.invalidateIf(key -> key.adapters().stream().anyMatch(m ->
                m.name().equals(retired.name()) && m.contentHash().equals(retired.source().contentHash()))));
        entries.put(model.id(), new Entry(model, new Scheduler(model, limits.maxBatch(), limits.queueCapacity()),
                adapters, merges, cache));
    }

    /** The named model, or the default for an empty name; NOT_FOUND names the model and what exists. */
    public synchronized Entry resolve(String name) {
        if (entries.isEmpty()) {
            throw Status.UNAVAILABLE.withDescription("no model loaded").asRuntimeException();
        }
        if (name.isEmpty()) {
            return entries.firstEntry().getValue();
        }
        Entry entry = entries.get(name);
        if (entry == null) {
            throw Status.NOT_FOUND.withDescription("model '" + name + "' not found (served: "
                    + String.join(", ", entries.keySet()) + ")").asRuntimeException();
        }
        return entry;
    }

    public synchronized Map<String, Entry> entries() {
        return Map.copyOf(entries);
    }

    /** Lets every scheduler finish its running and queued requests. */
    /** Every model refuses new requests from now on (before any is drained, so none accepts while another drains). */
    public void stopAccepting() {
        entries().values().forEach(entry -> entry.scheduler().stopAccepting());
    }

    public void drain(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Entry entry : entries().values()) {
            entry.scheduler().drain(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }
    }

    @Override
    public synchronized void close() {
        for (Entry entry : entries.values()) {
            entry.scheduler().close();
            entry.profiles().close();
            entry.adapters().close();
            entry.model().close();
        }
        entries.clear();
    }
}
