package dev.realign.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.JobEvent;
import dev.realign.api.v1.JobInfo;
import dev.realign.api.v1.JobProgress;
import dev.realign.api.v1.JobResult;
import dev.realign.api.v1.JobStarted;
import dev.realign.api.v1.JobStats;
import dev.realign.api.v1.PromptSet;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.client.FakeRealignServer;
import dev.realign.client.RealignClient;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code realign jobs irr|list|cancel} against a fake server that replays a job's events. */
class JobsCommandTest {

    private static final long LATCH_SECONDS = 10;

    private final FakeRealignServer server = new FakeRealignServer();
    private final AtomicReference<Runnable> ctrlC = new AtomicReference<>();
    private final InterruptHook testHook = action -> {
        ctrlC.set(action);
        return () -> ctrlC.set(null);
    };

    @AfterEach
    void stopServer() {
        server.close();
    }

    private record Run(int exitCode, String out, String err) {
    }

    /** Runs {@code jobs SUB --server NAME args...}. */
    private Run run(String sub, String... args) {
        var all = new ArrayList<>(List.of("jobs", sub, "--server", server.name()));
        all.addAll(List.of(args));
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        ClientConnector inProcess = (target, options) ->
                RealignClient.owning(InProcessChannelBuilder.forName(target).directExecutor().build(), options);
        int code = ClientMain.run(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), inProcess, Map.of(), testHook,
                all.toArray(String[]::new));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static JobEvent started(String id) {
        return JobEvent.newBuilder().setStarted(JobStarted.newBuilder().setJobId(id)).build();
    }

    static JobEvent progress(String stage, int layer, String tensor, double fraction) {
        return JobEvent.newBuilder().setProgress(JobProgress.newBuilder().setStage(stage).setLayer(layer).setLayers(2)
                .setTensor(tensor).setFraction(fraction)).build();
    }

    static JobEvent result() {
        return JobEvent.newBuilder().setResult(JobResult.newBuilder()
                .setAdapter(AdapterInfo.newBuilder().setName("safe-task").setModel("demo").setVersion(2)
                        .setKind(AdapterKind.FULL_DELTA).setContentHash("abc123"))
                .setWrittenPath("out/safe-task").setSeconds(12.5)
                .setStats(JobStats.newBuilder().setRemoved(50).setConflicting(60).setEntries(200).setTensors(14)
                        .setMeanErrorRemoveOnly(0.5).setMeanErrorAfter(0.125))).build();
    }

    @Test
    void optionsMapOntoTheRequestAndTheResultIsPrinted() {
        server.respondJob(started("job-1"), progress("fisher", -1, "", 1), progress("realign", 1,
                "model.layers.1.mlp.down_proj", 1), result());

        var run = run("irr", "--model", "demo", "--fine-tuned", "task-full", "--unaligned", "unaligned",
                "--safety", "sets/safety.jsonl", "--calibration", "demo-task", "--limit", "64",
                "--out-adapter", "safe-task", "--out-path", "out/safe-task", "--sparsity", "0.25", "--block-size", "64",
                "--damp", "0.02", "--fisher-batch-size", "8", "--remove-more");

        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        assertThat(server.jobRequests).singleElement().satisfies(r -> {
            assertThat(r.getModel()).isEqualTo("demo");
            assertThat(r.getOutputAdapter()).isEqualTo("safe-task");
            assertThat(r.getOutputPath()).isEqualTo("out/safe-task");
            assertThat(r.getIrr().getFineTuned()).isEqualTo("task-full");
            assertThat(r.getIrr().getUnaligned()).isEqualTo("unaligned");
            assertThat(r.getIrr().getSafety()).isEqualTo(PromptSet.newBuilder().setPath("sets/safety.jsonl")
                    .setLimit(64).build());
            assertThat(r.getIrr().getCalibration().getBuiltin()).isEqualTo("demo-task");
            var p = r.getIrr().getParameters();
            assertThat(p.getSparsity()).isEqualTo(0.25);
            assertThat(p.getBlockSize()).isEqualTo(64);
            assertThat(p.getDamp()).isEqualTo(0.02);
            assertThat(p.getFisherBatchSize()).isEqualTo(8);
            assertThat(p.getRemoveMore()).isTrue();
            assertThat(p.getRemoveOnly()).isFalse();
        });
        assertThat(run.out()).contains("registered safe-task v2 (FULL_DELTA, abc123) on model demo in 12.5 s",
                "removed 50 of 200 entries (25.00%) in 14 tensors; 60 conflicted",
                "removal alone 0.5000, after recalibration 0.1250", "wrote out/safe-task on the server");
        assertThat(run.err()).contains("job job-1", "realign layer 2/2 mlp.down_proj");
    }

    @Test
    void unsetParametersAreLeftToTheServersDefaults() {
        server.respondJob(started("job-1"), result());

        var run = run("irr", "--fine-tuned", "ft", "--unaligned", "u", "--safety", "s.jsonl", "--out-adapter", "o",
                "--remove-only", "--no-progress");

        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.OK);
        RunJobRequest r = server.jobRequests.getFirst();
        assertThat(r.getIrr().hasCalibration()).isFalse();
        assertThat(r.getIrr().getParameters().hasSparsity()).isFalse();
        assertThat(r.getIrr().getParameters().hasBlockSize()).isFalse();
        assertThat(r.getIrr().getParameters().getRemoveOnly()).isTrue();
        assertThat(run.err()).isEmpty();
    }

    @Test
    void badOptionsAreUsageErrorsNamingTheOption() {
        var noCalibration = run("irr", "--fine-tuned", "ft", "--unaligned", "u", "--safety", "s", "--out-adapter", "o");
        assertThat(noCalibration.exitCode()).isEqualTo(ExitCodes.BAD_REQUEST);
        assertThat(noCalibration.err()).contains("--calibration is required unless --remove-only");

        var sparsity = run("irr", "--fine-tuned", "ft", "--unaligned", "u", "--safety", "s", "--calibration", "c",
                "--out-adapter", "o", "--sparsity", "2");
        assertThat(sparsity.err()).contains("--sparsity must be in [0, 1]");

        var missing = run("irr", "--fine-tuned", "ft", "--safety", "s", "--calibration", "c", "--out-adapter", "o");
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.BAD_REQUEST);
        assertThat(missing.err()).contains("--unaligned");
        assertThat(server.jobRequests).isEmpty();
    }

    @Test
    void aServerStatusBecomesItsExitCodeAndMessage() {
        server.failJobWith(Status.FAILED_PRECONDITION.withDescription("model: 'demo' is served in FLOAT16; IRR edits "
                + "and differentiates fp32 weights: serve it with --dtype f32"));

        var run = run("irr", "--fine-tuned", "ft", "--unaligned", "u", "--safety", "s", "--calibration", "c",
                "--out-adapter", "o", "--no-progress");

        assertThat(run.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(run.err()).startsWith("error: FAILED_PRECONDITION: model: 'demo'").contains("--dtype f32");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void ctrlCCancelsTheJobOnTheServerAndExits130() throws Exception {
        server.respondJob(started("job-7"), progress("fisher", -1, "", 0.5)).holdJobOpen();

        CompletableFuture<Run> running = CompletableFuture.supplyAsync(() -> run("irr", "--fine-tuned", "ft",
                "--unaligned", "u", "--safety", "s", "--calibration", "c", "--out-adapter", "o"));
        assertThat(server.jobStarted.await(LATCH_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(running).isNotDone();

        ctrlC.get().run();

        assertThat(server.jobCancelled.await(LATCH_SECONDS, TimeUnit.SECONDS)).isTrue();
        Run run = running.get(LATCH_SECONDS, TimeUnit.SECONDS);
        assertThat(run.exitCode()).isEqualTo(ExitCodes.INTERRUPTED);
        assertThat(run.err()).contains("interrupted", "the job was cancelled on the server");
        assertThat(run.out()).isEmpty();
        assertThat(ctrlC.get()).isNull();
    }

    @Test
    void listAndCancel() {
        server.listJobs(JobInfo.newBuilder().setJobId("job-7").setState("running").setKind("irr")
                .setOutputAdapter("safe").setModel("demo").setProgress(progress("realign", 0,
                        "model.layers.0.self_attn.q_proj", 0.5).getProgress()).build());

        var list = run("list");
        assertThat(list.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(list.out()).contains("job-7", "running", "irr -> safe on demo",
                "realign layer 1/2 self_attn.q_proj", "50%");

        var cancel = run("cancel", "job-7");
        assertThat(cancel.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(cancel.out()).contains("cancelling job-7");

        var unknown = run("cancel", "nope");
        assertThat(unknown.exitCode()).isEqualTo(ExitCodes.BAD_REQUEST);
        assertThat(unknown.err()).contains("NOT_FOUND", "job_id");
        assertThat(server.cancelledJobIds).containsExactly("job-7", "nope");
    }
}
