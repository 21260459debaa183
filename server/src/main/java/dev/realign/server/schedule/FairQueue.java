package dev.realign.server.schedule;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * A bounded waiting queue shared by tenants, fair in two ways:
 *
 * <ul>
 *   <li><b>Taking</b> is round-robin across tenants: each {@link #poll} serves the tenant after the one served
 *       last (FIFO within a tenant), so a tenant with 2 waiting requests does not wait behind another's 20.</li>
 *   <li><b>Room</b> is shared by <i>longest-queue drop</i>: while the queue has room anyone may enqueue, so one
 *       tenant alone can use all of it. When it is full, a tenant holding less than its share,
 *       {@code max(1, capacity / n)} with {@code n} the tenants waiting counting the newcomer, still gets in:
 *       the newest request of the tenant holding the most is pushed out to make room. A tenant at or over
 *       its share is refused instead.</li>
 * </ul>
 *
 * Pushing out rather than reserving room keeps the queue work-conserving (a lone tenant is never refused
 * while slots are free) and still guarantees every tenant its share under contention. The newest request is
 * the one dropped so that the heavy tenant's older requests keep their places.
 *
 * <p>Thread-safe. {@link #offer} returns what it pushed out; the caller fails those requests.
 *
 * @param <T> the queued item; its tenant is read with the function given at construction
 */
final class FairQueue<T> {
    /** What {@link #offer} did: queued the item (perhaps pushing another out) or refused it. */
    sealed interface Offer<T> {
        record Queued<T>(Optional<T> pushedOut, Share share) implements Offer<T> {
        }

        record Refused<T>(Share share) implements Offer<T> {
        }
    }

    /**
     * A tenant's standing when a full queue had to choose.
     *
     * @param tenant  the tenant over its share (the refused newcomer, or the one whose request was pushed out)
     * @param holds   its requests waiting at that moment
     * @param share   {@code max(1, capacity / tenantsWaiting)}
     * @param tenants tenants waiting, counting the newcomer
     * @param capacity the queue's size
     */
    record Share(String tenant, int holds, int share, int tenants, int capacity) {
        static final Share NONE = new Share("", 0, 0, 0, 0);

        String describe() {
            return "tenant '" + tenant + "' holds " + holds + " of the queue's " + capacity + " slots and its queue share is "
                    + share + " (" + capacity + " / " + tenants + (tenants == 1 ? " tenant" : " tenants") + " waiting)";
        }
    }

    private final int capacity;
    private final Function<T, String> tenantOf;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    // Tenants in the order they are served; a tenant stays while it has waiting items.
    private final SequencedMap<String, Deque<T>> byTenant = new LinkedHashMap<>();
    private final Map<String, Integer> seen = new LinkedHashMap<>(); // every tenant ever queued -> depth (for gauges)
    private int size;

    FairQueue(int capacity, Function<T, String> tenantOf) {
        if (capacity < 1) {
            throw new IllegalArgumentException("queue capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
        this.tenantOf = tenantOf;
    }

    int capacity() {
        return capacity;
    }

    Offer<T> offer(T item) {
        String tenant = tenantOf.apply(item);
        lock.lock();
        try {
            Optional<T> pushedOut = Optional.empty();
            Share share = Share.NONE;
            if (size >= capacity) {
                int tenants = byTenant.size() + (byTenant.containsKey(tenant) ? 0 : 1);
                int fair = Math.max(1, capacity / tenants);
                int holds = depth(tenant);
                if (holds >= fair) {
                    return new Offer.Refused<>(new Share(tenant, holds, fair, tenants, capacity));
                }
                // Someone holds more than the fair share (the others hold capacity - holds > capacity - fair).
                String heaviest = null;
                for (var entry : byTenant.entrySet()) {
                    if (heaviest == null || entry.getValue().size() > byTenant.get(heaviest).size()) {
                        heaviest = entry.getKey();
                    }
                }
                share = new Share(heaviest, depth(heaviest), fair, tenants, capacity);
                pushedOut = Optional.of(removeLast(heaviest));
            }
            byTenant.computeIfAbsent(tenant, t -> new ArrayDeque<>()).addLast(item);
            size++;
            seen.merge(tenant, 1, Integer::sum);
            notEmpty.signal();
            return new Offer.Queued<>(pushedOut, share);
        } finally {
            lock.unlock();
        }
    }

    /** The next item round-robin across tenants, or null when empty. */
    T poll() {
        lock.lock();
        try {
            return take();
        } finally {
            lock.unlock();
        }
    }

    /** {@link #poll()}, waiting up to {@code timeout} for an item. */
    T poll(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        lock.lockInterruptibly();
        try {
            while (size == 0) {
                if (nanos <= 0) {
                    return null;
                }
                nanos = notEmpty.awaitNanos(nanos);
            }
            return take();
        } finally {
            lock.unlock();
        }
    }

    private T take() {
        if (size == 0) {
            return null;
        }
        // The first tenant in the map is next; served, it moves to the back (or leaves when it has no more).
        var first = byTenant.pollFirstEntry();
        T item = first.getValue().pollFirst();
        if (!first.getValue().isEmpty()) {
            byTenant.putLast(first.getKey(), first.getValue());
        }
        size--;
        seen.merge(first.getKey(), -1, Integer::sum);
        return item;
    }

    private T removeLast(String tenant) {
        Deque<T> queue = byTenant.get(tenant);
        T item = queue.pollLast();
        if (queue.isEmpty()) {
            byTenant.remove(tenant);
        }
        size--;
        seen.merge(tenant, -1, Integer::sum);
        return item;
    }

    /** Removes this very item (by identity), wherever it waits. */
    boolean remove(T item) {
        String tenant = tenantOf.apply(item);
        lock.lock();
        try {
            Deque<T> queue = byTenant.get(tenant);
            if (queue == null || !queue.removeIf(q -> q == item)) {
                return false;
            }
            if (queue.isEmpty()) {
                byTenant.remove(tenant);
            }
            size--;
            seen.merge(tenant, -1, Integer::sum);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Every waiting item, tenant by tenant (a copy: safe to remove from while iterating it). */
    List<T> snapshot() {
        lock.lock();
        try {
            List<T> all = new ArrayList<>(size);
            byTenant.values().forEach(all::addAll);
            return all;
        } finally {
            lock.unlock();
        }
    }

    int size() {
        lock.lock();
        try {
            return size;
        } finally {
            lock.unlock();
        }
    }

    boolean isEmpty() {
        return size() == 0;
    }

    /** Items waiting per tenant, including 0 for tenants that have queued before (so gauges read 0, not gone). */
    Map<String, Integer> depthByTenant() {
        lock.lock();
        try {
            return Map.copyOf(seen);
        } finally {
            lock.unlock();
        }
    }

    private int depth(String tenant) {
        Deque<T> queue = byTenant.get(tenant);
        return queue == null ? 0 : queue.size();
    }
}
