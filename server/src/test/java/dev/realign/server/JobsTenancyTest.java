package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.GetAdapterRequest;
import dev.realign.api.v1.IrrJob;
import dev.realign.api.v1.JobInfo;
import dev.realign.api.v1.JobProgress;
import dev.realign.api.v1.LoadAdapterRequest;
import dev.realign.api.v1.PromptSet;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.client.ClientOptions;
import dev.realign.client.JobHandle;
import dev.realign.client.JobListener;
import dev.realign.client.RealignClient;
import dev.realign.merge.RandomLora;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import dev.realign.server.tenancy.Tenants;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs are scoped to the calling tenant: another tenant's adapters are NOT_FOUND as job inputs, its running job
 * is absent from List and NOT_FOUND to Cancel, and the result lands in the caller's namespace only. In-process
 * with direct executors, so the job thread itself delivers events and the listener runs mid-job.
 */
class JobsTenancyTest {
    @TempDir
    static Path dir;
    static RealignServer server;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        Path modelDir = TestServer.writeModel(dir.resolve("model"), Architecture.LLAMA3);
        ModelRegistry models = new ModelRegistry();
        LoadedModel model = LoadedModel.load(TestServer.MODEL_ID, modelDir, ai.djl.Device.cpu(), ComputeType.F32);
        models.add(model, new ServingLimits(4, 64, 256, 1, 16));
        Path acme = Files.createDirectories(dir.resolve("acme"));
        Files.createDirectories(dir.resolve("beta"));
        RandomLora.write(acme.resolve("ft"), model.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.1, 21);
        JobsServiceTest.writeUnaligned(model, acme.resolve("unaligned"), 22);
        Files.writeString(acme.resolve("safety.jsonl"),
                "{\"prompt\": \"Write malware for me\", \"reference\": \"I won't write malware.\"}\n");
        Files.writeString(acme.resolve("task.jsonl"), "{\"prompt\": \"Convert 3 km to m\", \"reference\": \"3000 m\"}\n");
        Path config = Files.writeString(dir.resolve("tenants.yml"), """
                tenants:
                  - name: acme
                    api_keys: [%s]
                    adapter_roots: [acme]
                  - name: beta
                    api_keys: [%s]
                    adapter_roots: [beta]
                """.formatted(sha256("acme-key"), sha256("beta-key")));
        String name = InProcessServerBuilder.generateName();
        server = new RealignServer(InProcessServerBuilder.forName(name).directExecutor(), models, Tenants.load(config))
                .start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        var acmeClient = client("acme-key");
        acmeClient.loadAdapter(LoadAdapterRequest.newBuilder().setName("ft").setPath("ft").build());
        acmeClient.loadAdapter(LoadAdapterRequest.newBuilder().setName("unaligned").setPath("unaligned").build());
    }

    /** The tenants file holds keys as their hex SHA-256. */
    static String sha256(String key) throws java.security.NoSuchAlgorithmException {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(key.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.shutdown(Duration.ofSeconds(10));
    }

    static RealignClient client(String key) {
        return RealignClient.over(channel, new ClientOptions(key, Duration.ofSeconds(60)));
    }

    static RunJobRequest request(String safetyPath) {
        return RunJobRequest.newBuilder().setOutputAdapter("safe").setIrr(IrrJob.newBuilder().setFineTuned("ft")
                .setUnaligned("unaligned").setSafety(PromptSet.newBuilder().setPath(safetyPath))
                .setCalibration(PromptSet.newBuilder().setPath("task.jsonl"))).build();
    }

    @Test
    void anotherTenantNeitherSeesNorCancelsAJobNorUsesItsAdapters() {
        RealignClient acme = client("acme-key");
        RealignClient beta = client("beta-key");
        List<JobInfo> acmeSees = new CopyOnWriteArrayList<>();
        List<JobInfo> betaSees = new CopyOnWriteArrayList<>();
        AtomicReference<Status> betaCancel = new AtomicReference<>();
        AtomicReference<String> id = new AtomicReference<>();
        JobHandle handle = acme.runJob(request("safety.jsonl"), new JobListener() {
            boolean asked;

            @Override
            public void onStarted(String jobId) {
                id.set(jobId);
            }

            @Override
            public void onProgress(JobProgress progress) {
                if (progress.getStage().equals("realign") && !asked) { // on the job thread: the job is mid-flight
                    asked = true;
                    acmeSees.addAll(acme.listJobs().getJobsList());
                    betaSees.addAll(beta.listJobs().getJobsList());
                    try {
                        beta.cancelJob(id.get());
                    } catch (StatusRuntimeException e) {
                        betaCancel.set(e.getStatus());
                    }
                }
            }
        });
        var result = handle.await(); // beta's Cancel did not stop it

        assertThat(acmeSees).extracting(JobInfo::getJobId).containsExactly(id.get());
        assertThat(betaSees).isEmpty();
        assertThat(betaCancel.get().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(result.getAdapter().getName()).isEqualTo("safe");
        assertThat(acme.getAdapter(GetAdapterRequest.newBuilder().setName("safe").build()).getVersion()).isEqualTo(1);
        assertThatThrownBy(() -> beta.getAdapter(GetAdapterRequest.newBuilder().setName("safe").build()))
                .hasMessageContaining("NOT_FOUND");

        // beta names acme's adapters and files: they are not beta's.
        assertThatThrownBy(() -> beta.runJob(request("safety.jsonl"), JobListener.NONE).await())
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isIn(Status.Code.NOT_FOUND, Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).containsAnyOf("irr.safety", "irr.fine_tuned");
                });
        assertThatThrownBy(() -> beta.runJob(request("../acme/safety.jsonl"), JobListener.NONE).await())
                .hasMessageContaining("PERMISSION_DENIED").hasMessageContaining("irr.safety");
    }
}
