package dev.realign.server.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.realign.merge.MergedProfile;
import dev.realign.merge.ProfileKey;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ProfileCacheTest {
    private static final MergedProfile BASE = MergedProfile.unmerged(ProfileKey.base("base"), null);
    private final NDManager root = NDManager.newBaseManager();
    private final AtomicInteger builds = new AtomicInteger();
    private final Map<ProfileKey, NDArray> tensors = new ConcurrentHashMap<>();

    @AfterEach
    void close() {
        root.close();
    }

    private static ProfileKey key(String adapter, double weight) {
        return new ProfileKey("base", "linear", new TreeMap<>(),
                List.of(new ProfileKey.Member(adapter, "hash-" + adapter, weight, Double.NaN)));
    }

    /** A profile whose "merged tensor" is 3 MiB of floats, so the budget can be tested in MiB. */
    private MergedProfile build(ProfileKey key) {
        builds.incrementAndGet();
        NDManager manager = root.newSubManager();
        NDArray tensor = manager.ones(new Shape(3 << 18)); // 3 MiB
        tensors.put(key, tensor);
        return new MergedProfile(key, null, manager, 3L << 20, Duration.ofMillis(1), List.of());
    }

    @Test
    void concurrentRequestsForOneColdProfileMergeOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (ProfileCache cache = new ProfileCache(BASE, k -> {
            await(release);
            return build(k);
        }, 100, 2, 64)) {
            List<CompletableFuture<ProfileLease>> leases = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                leases.add(cache.acquire(key("task", 0.5)));
            }
            release.countDown();
            for (var lease : leases) {
                lease.get(10, TimeUnit.SECONDS).close();
            }
            assertThat(builds).hasValue(1);
            assertThat(cache.stats().misses()).isEqualTo(1);
            assertThat(cache.stats().hits()).isEqualTo(31);
        }
    }

    @Test
    void evictionUnderASmallBudgetNeverFreesLeasedWeights() throws Exception {
        // Budget of 5 MiB: two 3 MiB profiles do not fit together.
        try (ProfileCache cache = new ProfileCache(BASE, this::build, 5, 1, 8)) {
            ProfileKey a = key("a", 1);
            ProfileKey b = key("b", 1);
            ProfileLease leaseA = cache.acquire(a).get(10, TimeUnit.SECONDS);
            ProfileLease leaseB = cache.acquire(b).get(10, TimeUnit.SECONDS);
            awaitEvictions(cache, 1);
            assertThat(cache.isResident(a) && cache.isResident(b)).isFalse();

            // Both leases still read their weights: eviction only dropped the cache's reference.
            assertThat(tensors.get(a).sum().getFloat()).isEqualTo(3 << 18);
            assertThat(tensors.get(b).sum().getFloat()).isEqualTo(3 << 18);

            ProfileKey evicted = cache.isResident(a) ? b : a;
            (evicted == a ? leaseA : leaseB).close();
            assertThat(tensors.get(evicted).isReleased()).isTrue(); // last reference gone: freed
            (evicted == a ? leaseB : leaseA).close();
        }
    }

    @Test
    void theBaseProfileIsServedWithoutABuild() throws Exception {
        try (ProfileCache cache = new ProfileCache(BASE, this::build, 1, 1, 1)) {
            for (int i = 0; i < 3; i++) {
                try (ProfileLease lease = cache.acquire(ProfileKey.base("base")).get(1, TimeUnit.SECONDS)) {
                    assertThat(lease.profile()).isSameAs(BASE);
                }
            }
            assertThat(builds).hasValue(0);
        }
    }

    @Test
    void failedBuildsAreNotCachedAndKeepTheirStatus() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        try (ProfileCache cache = new ProfileCache(BASE, k -> {
            if (attempts.incrementAndGet() == 1) {
                throw Status.INVALID_ARGUMENT.withDescription("profile.density 2 outside (0, 1]").asRuntimeException();
            }
            return build(k);
        }, 100, 1, 8)) {
            assertThatThrownBy(() -> cache.acquire(key("x", 1)).get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .satisfies(e -> assertThat(Status.fromThrowable(ProfileCache.cause(e)).getCode())
                            .isEqualTo(Status.Code.INVALID_ARGUMENT));
            cache.acquire(key("x", 1)).get(10, TimeUnit.SECONDS).close();
            assertThat(attempts).hasValue(2);
            assertThat(cache.stats().failedBuilds()).isEqualTo(1);
        }
    }

    @Test
    void aFullMergeQueueRefusesAtOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (ProfileCache cache = new ProfileCache(BASE, k -> {
            await(release);
            return build(k);
        }, 100, 1, 1)) {
            var running = cache.acquire(key("a", 1));
            var queued = cache.acquire(key("b", 1));
            var refused = cache.acquire(key("c", 1));
            assertThatThrownBy(() -> refused.get(10, TimeUnit.SECONDS))
                    .satisfies(e -> assertThat(ProfileCache.cause(e)).isInstanceOfSatisfying(StatusRuntimeException.class,
                            s -> assertThat(s.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED)));
            release.countDown();
            running.get(10, TimeUnit.SECONDS).close();
            queued.get(10, TimeUnit.SECONDS).close();
        }
    }

    private static void awaitEvictions(ProfileCache cache, long count) throws InterruptedException {
        for (int i = 0; i < 400 && cache.stats().evictions() < count; i++) {
            Thread.sleep(5);
        }
        assertThat(cache.stats().evictions()).isGreaterThanOrEqualTo(count);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
