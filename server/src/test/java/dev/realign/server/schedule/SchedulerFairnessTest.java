package dev.realign.server.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import dev.realign.generate.SamplingParams;
import dev.realign.generate.StepOutput;
import dev.realign.merge.MergedProfile;
import dev.realign.merge.ProfileKey;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.server.cache.ProfileCache;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Admission across tenants, asserted on the order requests start rather than on timing: the first request
 * holds the engine thread (its listener blocks) while the others queue, so the queue's content is fixed when
 * the engine goes on.
 */
class SchedulerFairnessTest {
    @TempDir
    static Path dir;
    static LoadedModel model;
    static ProfileCache cache;

    @BeforeAll
    static void load() {
        Path modelDir = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 3), dir.resolve("m"));
        model = LoadedModel.load("m", modelDir, Device.cpu(), ComputeType.AUTO);
        cache = new ProfileCache(MergedProfile.unmerged(ProfileKey.base("m"), model.weights()),
                key -> { throw new IllegalStateException("no merges here"); }, 16, 1, 1);
    }

    @AfterAll
    static void close() {
        cache.close();
        model.close();
    }

    /** Records the order requests start in and how each ends; the request named {@code holder} blocks its first step. */
    private static final class Recorder {
        final List<String> started = Collections.synchronizedList(new ArrayList<>());
        final Map<String, CompletableFuture<Status>> ended = new ConcurrentHashMap<>();
        final CountDownLatch holding = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        GenerationTask task(String id, String tenant) throws Exception {
            CompletableFuture<Status> end = new CompletableFuture<>();
            ended.put(id, end);
            GenerationListener listener = new GenerationListener() {
                private boolean first = true;

                @Override
                public void onStep(StepOutput step) {
                    if (first) {
                        first = false;
                        started.add(id);
                        if (id.equals("A1")) {
                            holding.countDown();
                            await(release);
                        }
                    }
                }

                @Override
                public void onComplete(Completion completion) {
                    end.complete(Status.OK);
                }

                @Override
                public void onError(Status status) {
                    end.complete(status);
                }
            };
            return new GenerationTask(id, cache.acquire(ProfileKey.base("m")).get(5, TimeUnit.SECONDS),
                    new int[] {1, 2, 3}, SamplingParams.greedy(2), Long.MAX_VALUE, System.nanoTime(), listener,
                    new AtomicBoolean(), tenant);
        }

        Status status(String id) throws Exception {
            return ended.get(id).get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void aTenantWithTwoRequestsStartsBeforeAnotherTenantsBacklogOfTwentyDrains() throws Exception {
        Recorder r = new Recorder();
        try (Scheduler scheduler = new Scheduler(model, 1, 32)) {
            scheduler.submit(r.task("A1", "A"));
            assertThat(r.holding.await(60, TimeUnit.SECONDS)).isTrue();
            for (int i = 2; i <= 20; i++) {
                scheduler.submit(r.task("A" + i, "A"));
            }
            scheduler.submit(r.task("B1", "B"));
            scheduler.submit(r.task("B2", "B"));
            assertThat(scheduler.queueDepthByTenant()).isEqualTo(Map.of("A", 19, "B", 2));
            r.release.countDown();
            for (String id : r.ended.keySet()) {
                assertThat(r.status(id).getCode()).as(id).isEqualTo(Status.Code.OK);
            }
        }
        // One slot, tenants in turn: B waits behind one of A's requests each time, not behind all nineteen.
        assertThat(r.started.subList(0, 5)).containsExactly("A1", "A2", "B1", "A3", "B2");
        assertThat(r.started).hasSize(22);
    }

    @Test
    void aFullQueueAdmitsATenantUpToItsShareByPushingOutTheHeaviestTenantsNewest() throws Exception {
        Recorder r = new Recorder();
        try (Scheduler scheduler = new Scheduler(model, 1, 4)) {
            scheduler.submit(r.task("A1", "A"));
            assertThat(r.holding.await(60, TimeUnit.SECONDS)).isTrue();
            for (int i = 2; i <= 5; i++) {
                scheduler.submit(r.task("A" + i, "A"));
            }
            // Alone, A may fill the whole queue; one more is refused with its share.
            assertThatThrownBy(() -> scheduler.submit(r.task("A6", "A"))).isInstanceOfSatisfying(
                    StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                        assertThat(e.getStatus().getDescription()).isEqualTo("model 'm' queue is full: tenant 'A' holds 4"
                                + " of the queue's 4 slots and its queue share is 4 (4 / 1 tenant waiting); retry later");
                    });
            // B's share is 4 / 2 = 2: its first two requests get in, each pushing out A's newest.
            scheduler.submit(r.task("B1", "B"));
            scheduler.submit(r.task("B2", "B"));
            assertThatThrownBy(() -> scheduler.submit(r.task("B3", "B"))).isInstanceOfSatisfying(
                    StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                        assertThat(e.getStatus().getDescription()).contains("tenant 'B' holds 2")
                                .contains("queue share is 2 (4 / 2 tenants waiting)");
                    });
            assertThat(scheduler.queueDepthByTenant()).isEqualTo(Map.of("A", 2, "B", 2));
            r.release.countDown();
            for (String id : List.of("A5", "A4")) {
                Status pushed = r.status(id);
                assertThat(pushed.getCode()).as(id).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                assertThat(pushed.getDescription()).contains("request " + id + " was pushed out of model 'm' queue")
                        .contains("tenant 'A' holds");
            }
            for (String id : List.of("A1", "A2", "A3", "B1", "B2")) {
                assertThat(r.status(id).getCode()).as(id).isEqualTo(Status.Code.OK);
            }
        }
        assertThat(r.started).containsExactly("A1", "A2", "B1", "A3", "B2");
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
