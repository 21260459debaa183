package dev.realign.server.adapters;

import dev.realign.merge.DeltaSource;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * One loaded version of a named adapter, reference counted: the registry holds one reference while it is
 * the current version, and every profile built from it one more (an unmerged LoRA profile reads its
 * factors). A hot swap drops the registry's reference; the old version's memory is freed when the last
 * profile using it closes, so requests that started on it finish on it.
 */
public final class AdapterVersion implements AutoCloseable {
    private final String name;
    private final DeltaSource source;
    private final int version;
    private final Instant loadedAt;
    private final LongAdder requests = new LongAdder();
    private final AtomicInteger references = new AtomicInteger(1);
    private final Consumer<AdapterVersion> onFree;

    AdapterVersion(String name, DeltaSource source, int version, Instant loadedAt, Consumer<AdapterVersion> onFree) {
        this.name = name;
        this.source = source;
        this.version = version;
        this.loadedAt = loadedAt;
        this.onFree = onFree;
    }

    public String name() {
        return name;
    }

    public DeltaSource source() {
        return source;
    }

    public int version() {
        return version;
    }

    public Instant loadedAt() {
        return loadedAt;
    }

    public long requestsServed() {
        return requests.sum();
    }

    public void countRequest() {
        requests.increment();
    }

    /** Takes a reference unless the version is already freed. */
    boolean retain() {
        while (true) {
            int current = references.get();
            if (current == 0) {
                return false;
            }
            if (references.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    /** Drops one reference; the last one frees the adapter's tensors. */
    @Override
    public void close() {
        if (references.decrementAndGet() == 0) {
            source.close();
            onFree.accept(this);
        }
    }

    @Override
    public String toString() {
        return "adapter " + name + " v" + version + " (" + source.contentHash().substring(0, 12) + ")";
    }
}
