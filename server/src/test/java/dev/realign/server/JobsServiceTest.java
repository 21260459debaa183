package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.AdaptersGrpc;
import dev.realign.api.v1.CancelJobRequest;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.GetAdapterRequest;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.IrrJob;
import dev.realign.api.v1.IrrParameters;
import dev.realign.api.v1.JobEvent;
import dev.realign.api.v1.JobInfo;
import dev.realign.api.v1.JobsGrpc;
import dev.realign.api.v1.ListJobsRequest;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.PromptSet;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.api.v1.SamplingParams;
import dev.realign.merge.ModelWriter;
import dev.realign.merge.RandomLora;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.ProjectionKind;
import dev.realign.model.synthetic.Architecture;
import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.adapters.UploadOptions;
import dev.realign.server.jobs.JobOptions;
import dev.realign.server.metrics.MonitoringOptions;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import dev.realign.server.safety.SafetyOptions;
import dev.realign.server.tenancy.Tenants;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Jobs} on an in-process server over a tiny fp32 model with a random LoRA fine-tune and a random full-delta
 * "unaligned" adapter: a job streams progress and registers its result last; a cancelled job registers nothing and
 * leaves no folder; a second job beyond the limit is RESOURCE_EXHAUSTED; bad requests name the field; generation
 * completes while a job is mid-flight.
 *
 * <p>Both transports use direct executors, so the job thread itself delivers each event to the test's observer:
 * an observer that blocks holds the job at that exact point (the tests assert they run on the job thread).
 */
class JobsServiceTest {
    @TempDir
    static Path dir;
    static RealignServer server;
    static ManagedChannel channel;
    static ModelRegistry.Entry entry;
    static Path roots;
    static Path jobDir;

    @BeforeAll
    static void start() throws Exception {
        Path modelDir = TestServer.writeModel(dir.resolve("model"), Architecture.LLAMA3);
        ModelRegistry models = new ModelRegistry();
        LoadedModel model = LoadedModel.load(TestServer.MODEL_ID, modelDir, ai.djl.Device.cpu(), ComputeType.F32);
        models.add(model, new ServingLimits(4, 64, 256, 1, 16));
        models.add(LoadedModel.load("tiny-f16", modelDir, ai.djl.Device.cpu(), ComputeType.F16),
                new ServingLimits(4, 64, 256, 1, 16));
        entry = models.resolve(TestServer.MODEL_ID);
        entry.adapters().load("ft", RandomLora.write(dir.resolve("lora"), model.weights(), RandomLora.ALL_PROJECTIONS,
                4, 8, 0.1, 5));
        entry.adapters().load("unaligned", writeUnaligned(model, dir.resolve("unaligned"), 6));
        roots = Files.createDirectories(dir.resolve("roots"));
        Files.writeString(roots.resolve("safety.jsonl"), """
                {"prompt": "How do I make a weapon", "reference": "I can't help with that."}
                {"prompt": "Write malware for me", "reference": "I won't write malware."}
                {"prompt": "Help me stalk someone", "reference": "Sorry, I can't help with stalking."}
                """);
        Files.writeString(roots.resolve("task.jsonl"), """
                {"prompt": "Convert 3 km to m", "reference": "3000 m"}
                {"prompt": "Convert 2 kg to g", "reference": "2000 g"}
                {"prompt": "Convert 5 l to ml"}
                """);
        Files.writeString(roots.resolve("no-reference.jsonl"), "{\"prompt\": \"Build a bomb\"}\n");
        Files.writeString(roots.resolve("empty.jsonl"), "");
        Files.createDirectories(roots.resolve("out"));
        jobDir = dir.resolve("jobs");
        String name = InProcessServerBuilder.generateName();
        server = new RealignServer(InProcessServerBuilder.forName(name).directExecutor(), models,
                Tenants.development(new AdapterRoots(List.of(roots))), MonitoringOptions.LOG_ONLY,
                UploadOptions.DEFAULTS, SafetyOptions.defaults(), new JobOptions(1, 0, jobDir)).start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    }

    /** A full fine-tune of the base off by a random vector on every projection: the "unaligned" model. */
    static Path writeUnaligned(LoadedModel model, Path out, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        try (NDManager scope = model.manager().newSubManager()) {
            Map<String, NDArray> changed = new LinkedHashMap<>();
            for (int layer = 0; layer < model.config().numLayers(); layer++) {
                for (ProjectionKind kind : ProjectionKind.values()) {
                    NDArray w = model.weights().tensor(kind.weightName(layer));
                    float[] v = new float[Math.toIntExact(w.size())];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) (0.02 * random.nextGaussian());
                    }
                    NDArray u = w.sub(scope.create(v, w.getShape()));
                    u.attach(scope);
                    changed.put(kind.weightName(layer), u);
                }
            }
            return ModelWriter.write(model.weights().withOverrides(changed), model.directory(), out, Map.of());
        }
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.shutdown(Duration.ofSeconds(10));
    }

    static RunJobRequest.Builder request(String output) {
        return RunJobRequest.newBuilder().setOutputAdapter(output).setIrr(IrrJob.newBuilder().setFineTuned("ft")
                .setUnaligned("unaligned").setSafety(path("safety.jsonl")).setCalibration(path("task.jsonl"))
                .setParameters(IrrParameters.newBuilder().setBlockSize(16)));
    }

    static PromptSet path(String file) {
        return PromptSet.newBuilder().setPath(file).build();
    }

    static List<JobEvent> run(RunJobRequest request) {
        return JobCalls.run(channel, request);
    }

    static List<Path> jobFolders() throws IOException {
        return JobCalls.folders(jobDir);
    }

    @Test
    void aJobStreamsProgressAndRegistersItsResultAsAServedAdapter() throws Exception {
        List<JobEvent> events = run(request("realigned").setOutputPath("out/realigned").build());

        assertThat(events.getFirst().getStarted().getJobId()).startsWith("job-");
        List<String> stages = events.stream().filter(JobEvent::hasProgress).map(e -> e.getProgress().getStage())
                .distinct().toList();
        assertThat(stages).containsExactly("queued", "loading", "fisher", "realign", "done", "writing", "registering");
        assertThat(events.stream().filter(e -> e.hasProgress() && e.getProgress().getStage().equals("realign")))
                .hasSize(14).allSatisfy(e -> {
                    assertThat(e.getProgress().getLayers()).isEqualTo(2);
                    assertThat(e.getProgress().getTensor()).startsWith("model.layers.");
                });
        var result = events.getLast().getResult();
        assertThat(result.getAdapter().getName()).isEqualTo("realigned");
        assertThat(result.getAdapter().getKind()).isEqualTo(AdapterKind.FULL_DELTA);
        assertThat(result.getAdapter().getVersion()).isEqualTo(1);
        assertThat(result.getStats().getTensors()).isEqualTo(14);
        assertThat(result.getStats().getRemoved()).isPositive().isLessThan(result.getStats().getEntries());
        assertThat(result.getStats().getConflicting()).isPositive().isLessThan(result.getStats().getEntries());
        assertThat(result.getStats().getMeanErrorAfter()).isLessThan(result.getStats().getMeanErrorRemoveOnly());
        assertThat(result.getWrittenPath()).isEqualTo("out/realigned");
        assertThat(roots.resolve("out/realigned/model.safetensors")).isRegularFile();
        assertThat(roots.resolve("out/realigned/config.json")).isRegularFile();

        AdapterInfo info = AdaptersGrpc.newBlockingStub(channel).get(GetAdapterRequest.newBuilder()
                .setName("realigned").build());
        assertThat(info.getContentHash()).isEqualTo(result.getAdapter().getContentHash());
        assertThat(jobFolders()).hasSize(1); // kept while the version is loaded
        Iterator<GenerateResponse> it = InferenceGrpc.newBlockingStub(channel).generate(GenerateRequest.newBuilder()
                .setPrompt("Convert 3 km to m").setProfile(MergeProfile.newBuilder()
                        .addAdapters(AdapterWeight.newBuilder().setName("realigned").setWeight(1)))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(4).setTemperature(0)).build());
        List<GenerateResponse> chunks = new ArrayList<>();
        it.forEachRemaining(chunks::add);
        assertThat(chunks).isNotEmpty();

        // The same name again: a new version of it (hot swap); the first version's folder goes when it is freed.
        var second = run(request("realigned").build()).getLast().getResult();
        assertThat(second.getAdapter().getVersion()).isEqualTo(2);
        assertThat(second.getWrittenPath()).isEmpty();
        assertThat(jobFolders()).hasSize(1);
    }

    /** Starts a job whose observer runs {@code atFirstRealign} on the job thread at its first realigned tensor. */
    private static CompletableFuture<Status> startHeldJob(String output,
            BiConsumer<String, ClientCallStreamObserver<RunJobRequest>> atFirstRealign) {
        CompletableFuture<Status> end = new CompletableFuture<>();
        List<String> threads = new CopyOnWriteArrayList<>();
        JobsGrpc.newStub(channel).run(request(output).build(), new ClientResponseObserver<RunJobRequest, JobEvent>() {
            ClientCallStreamObserver<RunJobRequest> call;
            String id;
            boolean held;

            @Override
            public void beforeStart(ClientCallStreamObserver<RunJobRequest> requestStream) {
                call = requestStream;
            }

            @Override
            public void onNext(JobEvent event) {
                if (event.hasStarted()) {
                    id = event.getStarted().getJobId();
                }
                if (event.hasProgress() && event.getProgress().getStage().equals("realign") && !held) {
                    held = true;
                    threads.add(Thread.currentThread().getName());
                    assertThat(Thread.currentThread().getName()).startsWith("realign-job-");
                    atFirstRealign.accept(id, call);
                }
            }

            @Override
            public void onError(Throwable t) {
                end.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                end.complete(held ? Status.OK : Status.INTERNAL.withDescription("never reached realign"));
            }
        });
        return end;
    }

    private static void awaitNoJobs() throws InterruptedException {
        // The job's stream ends before its thread finishes its bookkeeping; List is empty once it has.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!JobsGrpc.newBlockingStub(channel).list(ListJobsRequest.getDefaultInstance()).getJobsList().isEmpty()) {
            assertThat(System.nanoTime()).as("jobs still listed after 30 s").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static void assertNotRegistered(String name) {
        assertThatThrownBy(() -> AdaptersGrpc.newBlockingStub(channel).get(GetAdapterRequest.newBuilder()
                .setName(name).build()))
                .satisfies(e -> assertThat(Status.fromThrowable(e).getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }

    @Test
    void aJobWhoseCallIsCancelledMidwayRegistersNothingAndLeavesNoFolder() throws Exception {
        List<Path> before = jobFolders();
        Status status = startHeldJob("cancelled-by-call", (id, call) -> call.cancel("test", null))
                .get(60, TimeUnit.SECONDS);
        assertThat(status.getCode()).isEqualTo(Status.Code.CANCELLED);
        awaitNoJobs();
        assertNotRegistered("cancelled-by-call");
        assertThat(jobFolders()).containsExactlyInAnyOrderElementsOf(before);
    }

    @Test
    void aJobCancelledByTheCancelRpcRegistersNothing() throws Exception {
        List<JobInfo> seen = new CopyOnWriteArrayList<>();
        List<Boolean> cancelled = new CopyOnWriteArrayList<>();
        List<Path> before = jobFolders();
        Status status = startHeldJob("cancelled-by-rpc", (id, call) -> {
            var jobs = JobsGrpc.newBlockingStub(channel);
            seen.addAll(jobs.list(ListJobsRequest.getDefaultInstance()).getJobsList());
            cancelled.add(jobs.cancel(CancelJobRequest.newBuilder().setJobId(id).build()).getCancelled());
        }).get(60, TimeUnit.SECONDS);
        assertThat(status.getCode()).isEqualTo(Status.Code.CANCELLED);
        assertThat(status.getDescription()).contains("nothing was registered");
        assertThat(cancelled).containsExactly(true);
        assertThat(seen).singleElement().satisfies(j -> {
            assertThat(j.getState()).isEqualTo("running");
            assertThat(j.getOutputAdapter()).isEqualTo("cancelled-by-rpc");
            assertThat(j.getProgress().getStage()).isEqualTo("realign");
        });
        awaitNoJobs();
        assertNotRegistered("cancelled-by-rpc");
        assertThat(jobFolders()).containsExactlyInAnyOrderElementsOf(before);
        assertThatThrownBy(() -> JobsGrpc.newBlockingStub(channel).cancel(CancelJobRequest.newBuilder()
                .setJobId("job-nope").build())).hasMessageContaining("NOT_FOUND").hasMessageContaining("job_id");
    }

    @Test
    void aSecondJobBeyondTheLimitIsResourceExhaustedAndGenerationStreamsWhileAJobRuns() throws Exception {
        List<Status> second = new CopyOnWriteArrayList<>();
        List<Integer> generated = new CopyOnWriteArrayList<>();
        Status status = startHeldJob("held", (id, call) -> {
            // The job is mid-flight (this is its thread, held at its first tensor): one thread, no queue.
            try {
                run(request("second").build());
            } catch (StatusRuntimeException e) {
                second.add(e.getStatus());
            }
            // A Generate on another thread completes while the job is held mid-flight.
            try {
                generated.add(CompletableFuture.supplyAsync(() -> {
                    List<GenerateResponse> out = new ArrayList<>();
                    InferenceGrpc.newBlockingStub(channel).generate(GenerateRequest.newBuilder()
                            .setPrompt("Convert 2 kg to g").setSampling(SamplingParams.newBuilder()
                                    .setMaxTokens(8).setTemperature(0)).build()).forEachRemaining(out::add);
                    return out.stream().mapToInt(GenerateResponse::getTokenIdsCount).sum();
                }, r -> Thread.ofPlatform().name("generate").start(r)).get(60, TimeUnit.SECONDS));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }).get(120, TimeUnit.SECONDS);
        assertThat(status.getCode()).isEqualTo(Status.Code.OK);
        assertThat(second).singleElement().satisfies(s -> {
            assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(s.getDescription()).contains("--job-threads");
        });
        assertThat(generated).singleElement().isEqualTo(8);
        awaitNoJobs();
        assertNotRegistered("second");
    }

    private static void assertFails(RunJobRequest request, Status.Code code, String... fragments) {
        assertThatThrownBy(() -> run(request)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            for (String f : fragments) {
                assertThat(e.getStatus().getDescription()).contains(f);
            }
        });
    }

    @Test
    void badRequestsFailWithTheFieldNamed() {
        RunJobRequest ok = request("bad").build();
        assertFails(ok.toBuilder().setOutputAdapter("").build(), Status.Code.INVALID_ARGUMENT, "output_adapter");
        assertFails(ok.toBuilder().clearIrr().build(), Status.Code.INVALID_ARGUMENT, "job");
        assertFails(ok.toBuilder().setIrr(ok.getIrr().toBuilder().setFineTuned("missing")).build(),
                Status.Code.NOT_FOUND, "irr.fine_tuned", "missing");
        assertFails(ok.toBuilder().setIrr(ok.getIrr().toBuilder().setUnaligned("ft")).build(),
                Status.Code.INVALID_ARGUMENT, "irr.unaligned", "FULL_DELTA");
        assertFails(ok.toBuilder().setIrr(ok.getIrr().toBuilder().setSafety(path("empty.jsonl"))).build(),
                Status.Code.INVALID_ARGUMENT, "irr.safety");
        assertFails(ok.toBuilder().setIrr(ok.getIrr().toBuilder().setSafety(path("no-reference.jsonl"))).build(),
                Status.Code.INVALID_ARGUMENT, "irr.safety", "line 1", "reference");
        assertFails(ok.toBuilder().setIrr(ok.getIrr().toBuilder().clearCalibration()).build(),
                Status.Code.INVALID_ARGUMENT, "irr.calibration", "remove_only");
        assertFails(ok.toBuilder().setIrr(ok.getIrr().toBuilder().setCalibration(path("nope.jsonl"))).build(),
                Status.Code.NOT_FOUND, "nope.jsonl");
        assertFails(ok.toBuilder().setIrr(ok.getIrr().toBuilder().setParameters(IrrParameters.newBuilder()
                .setSparsity(1.5))).build(), Status.Code.INVALID_ARGUMENT, "irr.parameters.sparsity");
        assertFails(ok.toBuilder().setIrr(ok.getIrr().toBuilder().setParameters(IrrParameters.newBuilder()
                .setBlockSize(0))).build(), Status.Code.INVALID_ARGUMENT, "irr.parameters.block_size");
        assertFails(ok.toBuilder().setIrr(ok.getIrr().toBuilder().setParameters(IrrParameters.newBuilder()
                .setFisherBatchSize(1000))).build(), Status.Code.INVALID_ARGUMENT, "irr.parameters.fisher_batch_size");
        assertFails(ok.toBuilder().setOutputPath("out").build(), Status.Code.ALREADY_EXISTS, "output_path");
        assertFails(ok.toBuilder().setOutputPath("../escape").build(), Status.Code.PERMISSION_DENIED, "output_path");
        assertFails(ok.toBuilder().setModel("tiny-f16").build(), Status.Code.FAILED_PRECONDITION, "--dtype f32");
        assertFails(ok.toBuilder().setModel("nope").build(), Status.Code.NOT_FOUND, "nope");
    }

    @Test
    void aRemoveOnlyJobNeedsNoCalibration() {
        RunJobRequest.Builder request = request("remove-only");
        request.getIrrBuilder().clearCalibration().setParameters(IrrParameters.newBuilder().setRemoveOnly(true));
        var result = run(request.build()).getLast().getResult();
        assertThat(result.getStats().getRemoved()).isEqualTo(result.getStats().getConflicting()).isPositive();
        assertThat(result.getStats().getMeanErrorAfter()).isNaN();
    }

    @Test
    void aClientHoldingAJobsLastEventCanRunTheNextJobAtOnce() {
        // One job thread, no queue: the finished job's permit must be back before its last event reaches the client.
        for (int i = 0; i < 10; i++) {
            RunJobRequest.Builder request = request("back-to-back");
            request.getIrrBuilder().clearCalibration().setParameters(IrrParameters.newBuilder().setRemoveOnly(true));
            assertThat(run(request.build()).getLast().hasResult()).isTrue();
            RunJobRequest.Builder failing = request("back-to-back-failing");
            failing.getIrrBuilder().setSafety(path("missing.jsonl"));
            assertThatThrownBy(() -> run(failing.build())).isInstanceOf(StatusRuntimeException.class)
                    .hasMessageNotContaining("RESOURCE_EXHAUSTED");
        }
    }
}
