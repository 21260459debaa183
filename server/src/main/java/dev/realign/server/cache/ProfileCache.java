package dev.realign.server.cache;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import dev.realign.merge.MergedProfile;
import dev.realign.merge.ProfileKey;
import io.grpc.Status;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merged profiles, built once per key and kept within a memory budget. Built on Caffeine's async loading
 * cache: concurrent requests for a cold key share one build, a failed build is not cached, entries weigh
 * their merged tensors in MiB. Builds run on a bounded executor (a fixed number of concurrent builds, since
 * in-flight entries weigh nothing to Caffeine, and a bounded queue: past it a request gets
 * RESOURCE_EXHAUSTED). Evicted profiles are freed only when their last lease closes.
 */
public final class ProfileCache implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProfileCache.class);

    /** Builds the profile of a key (merging as its method says). Runs on the merge executor. */
    @FunctionalInterface
    public interface Builder {
        MergedProfile build(ProfileKey key);
    }

    public record Stats(long hits, long misses, long evictions, long builds, long failedBuilds, double buildSeconds,
                        long residentBytes) {}

    /** A profile nobody asked for in this long is dropped, whatever the budget. */
    static final java.time.Duration IDLE_EXPIRY = java.time.Duration.ofMinutes(30);

    private final SharedProfile base;
    private final AsyncLoadingCache<ProfileKey, SharedProfile> cache;
    private final ThreadPoolExecutor mergeExecutor;
    private final LongAdder builds = new LongAdder();
    private final LongAdder failedBuilds = new LongAdder();
    private final LongAdder buildNanos = new LongAdder();
    private final LongAdder residentBytes = new LongAdder();

    /**
     * @param base                the base model's own profile: always resident, never weighed or freed
     * @param budgetMiB           merged tensors kept resident at most (leased ones may exceed it until released)
     * @param concurrentBuilds    merges running at once
     * @param queuedBuilds        merges waiting beyond those before requests are refused
     */
    public ProfileCache(MergedProfile base, Builder builder, long budgetMiB, int concurrentBuilds, int queuedBuilds) {
        this.base = new SharedProfile(base, true);
        this.mergeExecutor = new ThreadPoolExecutor(concurrentBuilds, concurrentBuilds, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(queuedBuilds), Thread.ofPlatform().name("merge-", 0).daemon(true).factory());
        this.cache = Caffeine.newBuilder()
                .maximumWeight(budgetMiB)
                // At least 1: Caffeine never evicts a zero-weight entry, and unmerged profiles (0 bytes of their
                // own) hold adapter versions that must be released eventually.
                .weigher((ProfileKey key, SharedProfile shared) -> Math.max(1, mebibytes(shared.profile().bytes())))
                .expireAfterAccess(IDLE_EXPIRY)
                .removalListener((ProfileKey key, SharedProfile shared, RemovalCause cause) -> {
                    if (shared != null) {
                        log.info("profile {} leaves the cache ({})", key, cause);
                        residentBytes.add(-shared.profile().bytes());
                        shared.release();
                    }
                })
                .recordStats()
                .buildAsync((key, executor) -> {
                    try {
                        return CompletableFuture.supplyAsync(() -> build(builder, key), mergeExecutor);
                    } catch (RejectedExecutionException e) {
                        return CompletableFuture.failedFuture(Status.RESOURCE_EXHAUSTED
                                .withDescription("merge queue is full (" + queuedBuilds + " merges waiting); retry later")
                                .asRuntimeException());
                    }
                });
    }

    private SharedProfile build(Builder builder, ProfileKey key) {
        long start = System.nanoTime();
        try {
            MergedProfile profile = builder.build(key);
            builds.increment();
            residentBytes.add(profile.bytes());
            log.info("merged profile {} ({} MiB) in {} ms", key, profile.bytes() >> 20,
                    (System.nanoTime() - start) / 1_000_000);
            return new SharedProfile(profile, false);
        } catch (RuntimeException e) {
            failedBuilds.increment();
            throw e;
        } finally {
            buildNanos.add(System.nanoTime() - start);
        }
    }

    private static int mebibytes(long bytes) {
        return Math.toIntExact(Math.min(Integer.MAX_VALUE, (bytes + (1 << 20) - 1) >> 20));
    }

    /**
     * A lease on the key's profile, building it if needed. The future fails with the build's error (a
     * {@code StatusRuntimeException} where the builder raised one).
     */
    public CompletableFuture<ProfileLease> acquire(ProfileKey key) {
        if (key.equals(base.profile().key())) {
            base.retain();
            return CompletableFuture.completedFuture(new ProfileLease(base));
        }
        CompletableFuture<SharedProfile> pending = cache.get(key);
        return pending.handle((shared, error) -> {
            if (error != null) {
                // Caffeine drops a failed build on its own, but asynchronously: drop it now so that the
                // next request for this key builds again instead of seeing the same failure.
                cache.asMap().remove(key, pending);
                return CompletableFuture.<ProfileLease>failedFuture(cause(error));
            }
            if (shared.retain()) {
                return CompletableFuture.completedFuture(new ProfileLease(shared));
            }
            return acquire(key); // evicted and freed between lookup and retain: look again (builds anew)
        }).thenCompose(f -> f);
    }

    /** The profile if resident, without building it (for tests and introspection). */
    public boolean isResident(ProfileKey key) {
        return cache.synchronous().getIfPresent(key) != null;
    }

    /**
     * Drops the entries whose keys match (leased profiles stay alive until their leases close): used when an
     * adapter version is swapped out or unloaded, so nothing keeps it resident.
     */
    public void invalidateIf(java.util.function.Predicate<ProfileKey> stale) {
        cache.synchronous().asMap().keySet().removeIf(stale);
    }

    public Stats stats() {
        CacheStats s = cache.synchronous().stats();
        return new Stats(s.hitCount(), s.missCount(), s.evictionCount(), builds.sum(), failedBuilds.sum(),
                buildNanos.sum() / 1e9, residentBytes.sum());
    }

    /** Unwraps the CompletionException or ExecutionException of a failed acquire. */
    public static Throwable cause(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /** Drops every entry (leased profiles stay alive until their leases close) and stops the merge threads. */
    @Override
    public void close() {
        cache.synchronous().invalidateAll();
        cache.synchronous().cleanUp();
        mergeExecutor.shutdownNow();
    }
}
