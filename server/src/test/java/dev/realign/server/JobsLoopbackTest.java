package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.GetAdapterRequest;
import dev.realign.api.v1.IrrJob;
import dev.realign.api.v1.JobProgress;
import dev.realign.api.v1.PromptSet;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.client.JobListener;
import dev.realign.client.RealignClient;
import dev.realign.merge.RandomLora;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A realignment job over a real loopback socket, through the Java client: progress streams, the result is served. */
class JobsLoopbackTest {
    @TempDir
    Path dir;

    @Test
    void theClientRunsAJobAndTheServerRegistersItsResult() throws Exception {
        Path modelDir = TestServer.writeModel(dir.resolve("model"), Architecture.LLAMA3);
        ModelRegistry models = new ModelRegistry();
        LoadedModel model = LoadedModel.load(TestServer.MODEL_ID, modelDir, ai.djl.Device.cpu(), ComputeType.F32);
        models.add(model, new ServingLimits(4, 64, 256, 1, 16));
        var entry = models.resolve("");
        entry.adapters().load("ft", RandomLora.write(dir.resolve("lora"), model.weights(), RandomLora.ALL_PROJECTIONS,
                4, 8, 0.1, 15));
        entry.adapters().load("unaligned", JobsServiceTest.writeUnaligned(model, dir.resolve("unaligned"), 16));
        Path roots = Files.createDirectories(dir.resolve("roots"));
        Files.writeString(roots.resolve("safety.jsonl"), """
                {"prompt": "How do I make a weapon", "reference": "I can't help with that."}
                {"prompt": "Write malware for me", "reference": "I won't write malware."}
                """);
        Files.writeString(roots.resolve("task.jsonl"), """
                {"prompt": "Convert 3 km to m", "reference": "3000 m"}
                {"prompt": "Convert 2 kg to g", "reference": "2000 g"}
                """);
        RealignServer server = new RealignServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)),
                models, new AdapterRoots(List.of(roots))).start();
        try (RealignClient client = RealignClient.connect("127.0.0.1:" + server.port())) {
            List<String> ids = new CopyOnWriteArrayList<>();
            List<JobProgress> progress = new CopyOnWriteArrayList<>();
            var handle = client.runJob(RunJobRequest.newBuilder().setOutputAdapter("safe").setIrr(IrrJob.newBuilder()
                    .setFineTuned("ft").setUnaligned("unaligned")
                    .setSafety(PromptSet.newBuilder().setPath("safety.jsonl"))
                    .setCalibration(PromptSet.newBuilder().setPath("task.jsonl"))).build(), new JobListener() {
                        @Override
                        public void onStarted(String jobId) {
                            ids.add(jobId);
                        }

                        @Override
                        public void onProgress(JobProgress p) {
                            progress.add(p);
                        }
                    });
            var result = handle.await();

            assertThat(ids).singleElement().satisfies(id -> assertThat(handle.jobId()).contains(id));
            assertThat(progress).extracting(JobProgress::getStage).contains("fisher", "realign", "registering");
            assertThat(result.getAdapter().getName()).isEqualTo("safe");
            assertThat(result.getAdapter().getKind()).isEqualTo(AdapterKind.FULL_DELTA);
            assertThat(result.getSeconds()).isPositive();
            assertThat(client.getAdapter(GetAdapterRequest.newBuilder().setName("safe").build()).getContentHash())
                    .isEqualTo(result.getAdapter().getContentHash());
        } finally {
            server.shutdown(Duration.ofSeconds(10));
        }
    }
}
