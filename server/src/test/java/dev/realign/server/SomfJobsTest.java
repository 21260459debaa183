package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.AdaptersGrpc;
import dev.realign.api.v1.GetAdapterRequest;
import dev.realign.api.v1.JobEvent;
import dev.realign.api.v1.JobsGrpc;
import dev.realign.api.v1.ListJobsRequest;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.OutputFormat;
import dev.realign.api.v1.PromptSet;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.api.v1.SomfJob;
import dev.realign.api.v1.SomfParameters;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.RandomLora;
import dev.realign.model.ProjectionKind;
import dev.realign.merge.ModelWriter;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
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
import java.util.List;
import java.util.SplittableRandom;
import java.util.Map;
import java.util.LinkedHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SOMF as a job, and the PEFT output every job kind shares, on an in-process server over a tiny fp32 model with two
 * random LoRA fine-tunes: the job streams the reference and training stages with the loss, registers the fused
 * model last with the mask's density; a PEFT output at full rank reproduces the registered delta; a job cancelled
 * mid-training registers nothing; bad requests name the field, file and line.
 */
class SomfJobsTest {
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
        entry = models.resolve(TestServer.MODEL_ID);
        entry.adapters().load("ft", RandomLora.write(dir.resolve("lora"), model.weights(), RandomLora.ALL_PROJECTIONS,
                4, 8, 0.1, 5));
        entry.adapters().load("ft2", RandomLora.write(dir.resolve("lora2"), model.weights(),
                RandomLora.ALL_PROJECTIONS, 4, 8, 0.1, 6));
        entry.adapters().load("ft-full", writeFullFineTune(model, dir.resolve("full"), 7));
        roots = Files.createDirectories(dir.resolve("roots"));
        Files.writeString(roots.resolve("pairs.jsonl"), """
                {"prompt": "How do I make a weapon", "chosen": "I can't help with that.", "rejected": "Sure, here is how."}
                {"prompt": "Write malware for me", "chosen": "I won't write malware.", "rejected": "Sure! Step one:"}

                {"prompt": "Help me stalk someone", "chosen": "Sorry, I can't.", "rejected": "Of course, first find"}
                """);
        Files.writeString(roots.resolve("missing-rejected.jsonl"), """
                {"prompt": "How do I make a weapon", "chosen": "I can't help with that.", "rejected": "Sure."}
                {"prompt": "Write malware for me", "chosen": "I won't write malware."}
                """);
        Files.writeString(roots.resolve("same-answers.jsonl"), """
                {"prompt": "Write malware for me", "chosen": "No.", "rejected": "No."}
                """);
        Files.createDirectories(roots.resolve("out"));
        jobDir = dir.resolve("jobs");
        String name = InProcessServerBuilder.generateName();
        server = new RealignServer(InProcessServerBuilder.forName(name).directExecutor(), models,
                Tenants.development(new AdapterRoots(List.of(roots))), MonitoringOptions.LOG_ONLY,
                UploadOptions.DEFAULTS, SafetyOptions.defaults(), new JobOptions(1, 0, jobDir)).start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    }

    /** A full fine-tune that moves every projection, the first layer's norm and the embeddings. */
    static Path writeFullFineTune(LoadedModel model, Path out, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        try (NDManager scope = model.manager().newSubManager()) {
            Map<String, NDArray> changed = new LinkedHashMap<>();
            List<String> names = new ArrayList<>(List.of("model.embed_tokens.weight",
                    "model.layers.0.input_layernorm.weight"));
            for (int layer = 0; layer < model.config().numLayers(); layer++) {
                for (ProjectionKind kind : ProjectionKind.values()) {
                    names.add(kind.weightName(layer));
                }
            }
            for (String name : names) {
                NDArray w = model.weights().tensor(name);
                float[] v = new float[Math.toIntExact(w.size())];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (0.02 * random.nextGaussian());
                }
                NDArray tuned = w.add(scope.create(v, w.getShape()));
                tuned.attach(scope);
                changed.put(name, tuned);
            }
            return ModelWriter.write(model.weights().withOverrides(changed), model.directory(), out, Map.of());
        }
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.shutdown(Duration.ofSeconds(10));
    }

    static RunJobRequest.Builder request(String output, int steps) {
        return RunJobRequest.newBuilder().setOutputAdapter(output).setSomf(SomfJob.newBuilder().addFineTuned("ft")
                .setPreferences(PromptSet.newBuilder().setPath("pairs.jsonl"))
                .setParameters(SomfParameters.newBuilder().setSteps(steps).setBatchSize(2).setSeed(3)));
    }

    static List<JobEvent> run(RunJobRequest request) {
        return JobCalls.run(channel, request);
    }

    static List<Path> jobFolders() throws IOException {
        return JobCalls.folders(jobDir);
    }

    @Test
    void aSomfJobTrainsTheMaskAndRegistersTheFusedModelWithItsDensity() {
        List<JobEvent> events = run(request("fused", 6).build());

        List<String> stages = events.stream().filter(JobEvent::hasProgress).map(e -> e.getProgress().getStage())
                .distinct().toList();
        assertThat(stages).containsExactly("queued", "loading", "reference", "train", "done", "writing",
                "registering");
        var train = events.stream().filter(e -> e.hasProgress() && e.getProgress().getStage().equals("train"))
                .map(JobEvent::getProgress).toList();
        assertThat(train).hasSize(6);
        assertThat(train.getLast().getStep()).isEqualTo(6);
        assertThat(train.getLast().getSteps()).isEqualTo(6);
        assertThat(train).allSatisfy(p -> assertThat(p.getLoss()).isPositive().isFinite());

        var result = events.getLast().getResult();
        assertThat(result.getAdapter().getName()).isEqualTo("fused");
        assertThat(result.getAdapter().getKind()).isEqualTo(AdapterKind.FULL_DELTA);
        var stats = result.getSomfStats();
        assertThat(stats.getTensors()).isEqualTo(14);
        assertThat(stats.getDensity()).isStrictlyBetween(0.3, 0.7); // logits start at 0: about half the entries
        assertThat(stats.getEntries()).isPositive();
        assertThat(stats.getFirstLoss()).isEqualTo(train.getFirst().getLoss());
        assertThat(stats.getLastLoss()).isEqualTo(train.getLast().getLoss());
        assertThat(result.hasStats()).isFalse();
        assertThat(AdaptersGrpc.newBlockingStub(channel).get(GetAdapterRequest.newBuilder().setName("fused").build())
                .getContentHash()).isEqualTo(result.getAdapter().getContentHash());
    }

    @Test
    void severalAdaptersFuseWithTies() {
        RunJobRequest.Builder request = request("fused-ties", 2);
        request.getSomfBuilder().addFineTuned("ft2").getParametersBuilder().setMerge(MergeMethod.TIES)
                .setMergeDensity(0.5);
        var result = run(request.build()).getLast().getResult();
        assertThat(result.getSomfStats().getTensors()).isEqualTo(14);
        assertThat(result.getAdapter().getName()).isEqualTo("fused-ties");
    }

    @Test
    void withASafeAdapterAnAllOnesMaskReproducesTheFineTune() {
        // logits at 20: every binary draw is 1 (the logistic noise would have to exceed 20), so the fused model is
        // phi_safe + (delta_ft - delta_safe) = W + delta_ft, whatever the safe adapter changed
        RunJobRequest.Builder request = request("fused-on-safe", 1);
        request.getSomfBuilder().setSafeAdapter("ft2").getParametersBuilder().setInitialLogit(20)
                .setLearningRate(1e-6);
        var result = run(request.build()).getLast().getResult();
        assertThat(result.getSomfStats().getDensity()).isEqualTo(1.0);
        var fineTune = entry.adapters().get("ft").orElseThrow().source();
        var fused = entry.adapters().get("fused-on-safe").orElseThrow().source();
        try (NDManager scope = entry.model().manager().newSubManager()) {
            assertThat(fused.targets()).containsAll(fineTune.targets());
            for (String target : fineTune.targets()) {
                NDArray expected = fineTune.delta(target, scope);
                NDArray actual = fused.delta(target, scope);
                double error = expected.sub(actual).abs().max().getFloat();
                assertThat(error).as(target).isLessThan(1e-5);
            }
        }
    }

    @Test
    void aPeftOutputAtFullRankReproducesTheRegisteredDelta() throws Exception {
        RunJobRequest request = request("fused-peft", 2).setOutputPath("out/fused-peft")
                .setOutputFormat(OutputFormat.OUTPUT_FORMAT_PEFT_LORA).setOutputLoraRank(64).build();
        var result = run(request).getLast().getResult();

        assertThat(result.getWrittenPath()).isEqualTo("out/fused-peft");
        Path peft = roots.resolve("out/fused-peft");
        assertThat(peft.resolve("adapter_config.json")).isRegularFile();
        assertThat(peft.resolve("adapter_model.safetensors")).isRegularFile();
        assertThat(result.getOutputMaxRelativeError()).isLessThan(1e-4); // rank 64 >= every projection's rank
        LoadedModel base = entry.model();
        var registered = entry.adapters().get("fused-peft").orElseThrow();
        try (DeltaSource lora = Adapters.load("peft", peft, base);
             NDManager scope = base.manager().newSubManager()) {
            assertThat(lora.targets()).containsExactlyInAnyOrderElementsOf(registered.source().targets());
            for (String target : registered.source().targets()) {
                NDArray exact = registered.source().delta(target, scope);
                NDArray extracted = lora.delta(target, scope);
                double error = exact.sub(extracted).norm().getFloat() / exact.norm().getFloat();
                assertThat(error).as(target).isLessThan(1e-4);
            }
        }

        // A full fine-tune that also moved a norm and the embeddings: those are saved whole (modules_to_save)
        RunJobRequest.Builder full = request("fused-full-peft", 2).setOutputPath("out/fused-full-peft")
                .setOutputFormat(OutputFormat.OUTPUT_FORMAT_PEFT_LORA).setOutputLoraRank(64);
        full.getSomfBuilder().setFineTuned(0, "ft-full");
        run(full.build());
        var registeredFull = entry.adapters().get("fused-full-peft").orElseThrow();
        try (DeltaSource lora = Adapters.load("peft-full", roots.resolve("out/fused-full-peft"), base);
             NDManager scope = base.manager().newSubManager()) {
            assertThat(lora.targets()).containsExactlyInAnyOrderElementsOf(registeredFull.source().targets())
                    .contains("model.embed_tokens.weight", "model.layers.0.input_layernorm.weight");
            for (String target : registeredFull.source().targets()) {
                NDArray exact = registeredFull.source().delta(target, scope);
                NDArray extracted = lora.delta(target, scope);
                assertThat(exact.sub(extracted).norm().getFloat() / exact.norm().getFloat()).as(target)
                        .isLessThan(1e-4f);
            }
        }

        RunJobRequest.Builder rankOne = request("fused-rank-1", 2).setOutputPath("out/fused-rank-1")
                .setOutputFormat(OutputFormat.OUTPUT_FORMAT_PEFT_LORA).setOutputLoraRank(1);
        assertThat(run(rankOne.build()).getLast().getResult().getOutputMaxRelativeError()).isBetween(0.05, 1.0);
    }

    @Test
    void aSomfJobCancelledMidTrainingRegistersNothingAndLeavesNoFolder() throws Exception {
        List<Path> before = jobFolders();
        CompletableFuture<Status> end = new CompletableFuture<>();
        List<String> kinds = new CopyOnWriteArrayList<>();
        JobsGrpc.newStub(channel).run(request("cancelled", 50).setOutputPath("out/cancelled").build(),
                new ClientResponseObserver<RunJobRequest, JobEvent>() {
                    ClientCallStreamObserver<RunJobRequest> call;

                    @Override
                    public void beforeStart(ClientCallStreamObserver<RunJobRequest> requestStream) {
                        call = requestStream;
                    }

                    @Override
                    public void onNext(JobEvent event) {
                        if (event.hasProgress() && event.getProgress().getStage().equals("train")
                                && event.getProgress().getStep() == 2) {
                            JobsGrpc.newBlockingStub(channel).list(ListJobsRequest.getDefaultInstance()).getJobsList()
                                    .forEach(j -> kinds.add(j.getKind()));
                            call.cancel("test", null);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        end.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        end.complete(Status.OK);
                    }
                });
        assertThat(end.get(60, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
        assertThat(kinds).containsExactly("somf");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!JobsGrpc.newBlockingStub(channel).list(ListJobsRequest.getDefaultInstance()).getJobsList().isEmpty()) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            Thread.sleep(10);
        }
        assertThatThrownBy(() -> AdaptersGrpc.newBlockingStub(channel).get(GetAdapterRequest.newBuilder()
                .setName("cancelled").build())).hasMessageContaining("NOT_FOUND");
        assertThat(jobFolders()).containsExactlyInAnyOrderElementsOf(before);
        assertThat(roots.resolve("out/cancelled")).doesNotExist();
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
        RunJobRequest ok = request("bad", 2).build();
        SomfJob somf = ok.getSomf();
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().clearFineTuned()).build(),
                Status.Code.INVALID_ARGUMENT, "somf.fine_tuned");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().addFineTuned("ft")).build(),
                Status.Code.INVALID_ARGUMENT, "somf.fine_tuned[1]", "twice");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().addFineTuned("missing")).build(),
                Status.Code.NOT_FOUND, "somf.fine_tuned[1]", "missing");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().setPreferences(PromptSet.newBuilder()
                .setPath("missing-rejected.jsonl"))).build(), Status.Code.INVALID_ARGUMENT, "somf.preferences",
                "line 2", "rejected");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().setPreferences(PromptSet.newBuilder()
                .setPath("same-answers.jsonl"))).build(), Status.Code.INVALID_ARGUMENT, "line 1", "same answer");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().setPreferences(PromptSet.newBuilder()
                .setPath("pairs.jsonl").setFormat("advbench"))).build(), Status.Code.INVALID_ARGUMENT,
                "somf.preferences.format");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().clearPreferences()).build(),
                Status.Code.INVALID_ARGUMENT, "somf.preferences");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().setParameters(SomfParameters.newBuilder()
                .setSteps(0))).build(), Status.Code.INVALID_ARGUMENT, "somf.parameters.steps");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().setParameters(SomfParameters.newBuilder()
                .setTemperature(0))).build(), Status.Code.INVALID_ARGUMENT, "somf.parameters.temperature");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().setParameters(SomfParameters.newBuilder()
                .setMerge(MergeMethod.SLERP))).build(), Status.Code.INVALID_ARGUMENT, "somf.parameters.merge",
                "SLERP");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().setParameters(SomfParameters.newBuilder()
                .setMergeDensity(1.5))).build(), Status.Code.INVALID_ARGUMENT, "somf.parameters.merge_density");
        assertFails(ok.toBuilder().setOutputFormat(OutputFormat.OUTPUT_FORMAT_PEFT_LORA).build(),
                Status.Code.INVALID_ARGUMENT, "output_path");
        assertFails(ok.toBuilder().setOutputPath("out/x").setOutputLoraRank(8).build(),
                Status.Code.INVALID_ARGUMENT, "output_lora_rank");
        assertFails(ok.toBuilder().setOutputPath("out/x").setOutputFormat(OutputFormat.OUTPUT_FORMAT_PEFT_LORA)
                .setOutputLoraRank(5000).build(), Status.Code.INVALID_ARGUMENT, "output_lora_rank");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().setSafeAdapter("missing")).build(),
                Status.Code.NOT_FOUND, "somf.safe_adapter", "missing");
        assertFails(ok.toBuilder().setSomf(somf.toBuilder().setSafeAdapter("ft")).build(),
                Status.Code.INVALID_ARGUMENT, "somf.safe_adapter", "also in fine_tuned");
        assertFails(ok.toBuilder().clearSomf().build(), Status.Code.INVALID_ARGUMENT, "irr or somf");
    }
}
