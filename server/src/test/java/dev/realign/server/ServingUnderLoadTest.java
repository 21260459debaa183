package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.SamplingParams;
import dev.realign.merge.RandomLora;
import dev.realign.model.synthetic.Architecture;
import dev.realign.server.models.ModelRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hot swaps while streams run, and more requests than the queue holds. */
class ServingUnderLoadTest {
    @TempDir
    Path dir;

    private static GenerateRequest request(String adapter, int maxTokens) {
        var builder = GenerateRequest.newBuilder().setPrompt("swap under load")
                .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens));
        if (adapter != null) {
            builder.setProfile(MergeProfile.newBuilder().addAdapters(AdapterWeight.newBuilder().setName(adapter).setWeight(1)));
        }
        return builder.build();
    }

    private static List<Integer> ids(List<GenerateResponse> stream) {
        List<Integer> ids = new ArrayList<>();
        stream.forEach(r -> ids.addAll(r.getTokenIdsList()));
        return ids;
    }

    @Test
    void hotSwapsUnderLoadNeverFailOrMixVersions() throws Exception {
        try (TestServer server = new TestServer(TestServer.writeModel(dir.resolve("m"), Architecture.LLAMA3), 16, 64)) {
            ModelRegistry.Entry entry = server.server.models().resolve("");
            int versions = 11;
            List<Path> folders = new ArrayList<>();
            Set<List<Integer>> expected = new HashSet<>();
            for (int v = 0; v < versions; v++) {
                folders.add(RandomLora.write(dir.resolve("v" + v), server.model.weights(), RandomLora.ALL_PROJECTIONS,
                        4, 8, 0.12, 100 + v));
                entry.adapters().load("ref" + v, folders.get(v));
                expected.add(ids(server.generate(request("ref" + v, 16))));
            }
            assertThat(expected).as("versions must be distinguishable by their output").hasSizeGreaterThan(5);

            entry.adapters().load("live", folders.getFirst());
            AtomicBoolean swapping = new AtomicBoolean(true);
            Map<Status.Code, Integer> failures = new ConcurrentHashMap<>();
            List<List<Integer>> outputs = java.util.Collections.synchronizedList(new ArrayList<>());
            try (ExecutorService pool = Executors.newFixedThreadPool(16)) {
                List<Future<?>> streams = new ArrayList<>();
                for (int s = 0; s < 16; s++) {
                    streams.add(pool.submit(() -> {
                        while (swapping.get()) {
                            try {
                                outputs.add(ids(server.generate(request("live", 16))));
                            } catch (StatusRuntimeException e) {
                                failures.merge(e.getStatus().getCode(), 1, Integer::sum);
                            }
                        }
                    }));
                }
                for (int v = 1; v < versions; v++) {
                    Thread.sleep(150);
                    entry.adapters().load("live", folders.get(v));
                }
                Thread.sleep(150);
                swapping.set(false);
                for (Future<?> f : streams) {
                    f.get(120, TimeUnit.SECONDS);
                }
            }
            assertThat(failures).isEmpty();
            assertThat(outputs).hasSizeGreaterThan(16);
            assertThat(outputs).allSatisfy(out -> assertThat(expected).contains(out));
            assertThat(entry.adapters().get("live").orElseThrow().version()).isEqualTo(versions);
        }
    }

    @Test
    void tenTimesTheQueueGetsResourceExhaustedForTheExcessAndTheRestComplete() throws Exception {
        int queue = 4;
        int batch = 2;
        try (TestServer server = new TestServer(TestServer.writeModel(dir.resolve("m"), Architecture.QWEN2), batch, queue)) {
            int requests = 10 * queue;
            Map<Status.Code, Integer> outcomes = new ConcurrentHashMap<>();
            try (ExecutorService pool = Executors.newFixedThreadPool(requests)) {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<?>> calls = new ArrayList<>();
                for (int i = 0; i < requests; i++) {
                    calls.add(pool.submit(() -> {
                        go.await();
                        try {
                            server.generate(request(null, 48));
                            outcomes.merge(Status.Code.OK, 1, Integer::sum);
                        } catch (StatusRuntimeException e) {
                            outcomes.merge(e.getStatus().getCode(), 1, Integer::sum);
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : calls) {
                    f.get(120, TimeUnit.SECONDS);
                }
            }
            assertThat(outcomes.keySet()).containsOnly(Status.Code.OK, Status.Code.RESOURCE_EXHAUSTED);
            assertThat(outcomes.get(Status.Code.RESOURCE_EXHAUSTED)).isPositive();
            assertThat(outcomes.get(Status.Code.OK)).isGreaterThanOrEqualTo(queue);
            var scheduler = server.server.models().resolve("").scheduler();
            // The last responses can reach the client a moment before the scheduler publishes its counts.
            for (int i = 0; i < 200 && (scheduler.runningCount() > 0 || scheduler.queueDepth() > 0); i++) {
                Thread.sleep(10);
            }
            assertThat(scheduler.queueDepth()).isZero();
            assertThat(scheduler.runningCount()).isZero();
            assertThat(server.generate(request(null, 3))).hasSize(3);
        }
    }
}
