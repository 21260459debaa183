package dev.realign.server.schedule;

import static org.assertj.core.api.Assertions.assertThat;

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
import dev.realign.server.cache.ProfileLease;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deadlines are enforced at step boundaries, independent of how fast the machine decodes. */
class SchedulerTest {
    @TempDir
    Path dir;

    @Test
    void aRequestPastItsDeadlineIsDroppedAtTheNextStepAndFreed() throws Exception {
        Path modelDir = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 2), dir.resolve("m"));
        try (LoadedModel model = LoadedModel.load("m", modelDir, Device.cpu(), ComputeType.AUTO);
             ProfileCache cache = new ProfileCache(MergedProfile.unmerged(ProfileKey.base("m"), model.weights()),
                     key -> { throw new IllegalStateException("no merges here"); }, 16, 1, 1);
             Scheduler scheduler = new Scheduler(model, 4, 4)) {
            ProfileLease lease = cache.acquire(ProfileKey.base("m")).get(5, TimeUnit.SECONDS);
            CompletableFuture<Status> ended = new CompletableFuture<>();
            AtomicInteger steps = new AtomicInteger();
            // Room to reach the first step on a busy machine (50 ms was missed under a load of 10 on 2 cores);
            // the first step then waits past the deadline, whatever the decode speed.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            GenerationListener listener = new GenerationListener() {
                @Override
                public void onStep(StepOutput step) {
                    if (steps.incrementAndGet() == 1) {
                        while (System.nanoTime() - deadline <= 0) {
                            sleep(10);
                        }
                        sleep(20);
                    }
                }

                @Override
                public void onComplete(Completion completion) {
                    ended.complete(Status.OK);
                }

                @Override
                public void onError(Status status) {
                    ended.complete(status);
                }
            };
            scheduler.submit(new GenerationTask("r1", lease, new int[] {1, 2, 3}, SamplingParams.greedy(200),
                    deadline, System.nanoTime(), listener, new AtomicBoolean()));

            assertThat(ended.get(30, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
            assertThat(steps.get()).isEqualTo(1);
            for (int i = 0; i < 100 && scheduler.runningCount() > 0; i++) {
                Thread.sleep(10);
            }
            assertThat(scheduler.runningCount()).isZero();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
