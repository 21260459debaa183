package dev.realign.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.PromptSet;
import dev.realign.api.v1.SweepRequest;
import dev.realign.client.FakeRealignServer;
import dev.realign.client.RealignClient;
import dev.realign.client.SweepEvents;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SweepCommandTest {

    /** Generous: only a hang reaches it. */
    private static final long LATCH_SECONDS = 10;

    private final FakeRealignServer server = new FakeRealignServer();

    @TempDir
    Path dir;

    /** A "Ctrl-C button": remembers the action the command registered, for the test to press. */
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

    private Run run(String... args) {
        var withServer = new ArrayList<>(List.of(args));
        withServer.addAll(1, List.of("--server", server.name()));
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        ClientConnector inProcess = (target, options) ->
                RealignClient.owning(InProcessChannelBuilder.forName(target).directExecutor().build(), options);
        int code = ClientMain.run(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), inProcess, Map.of(), testHook,
                withServer.toArray(String[]::new));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private SweepRequest received() {
        assertThat(server.sweepRequests).hasSize(1);
        return server.sweepRequests.getFirst();
    }

    @Test
    void optionsMapOntoTheRequest() {
        server.respondSweep(SweepEvents.twoMethods());

        var run = run("sweep", "--model", "demo", "--adapter", "task-lora", "--adapter", "style",
                "--methods", "linear,TIES,dare-linear,slerp", "--ratios", "0:1:0.1",
                "--harmful", "demo-harmful", "--task", "sets/task.jsonl", "--task-format", "jsonl",
                "--benign", "xstest.csv", "--benign-format", "xstest", "--limit", "25",
                "--detector", "semantic", "--refusal-floor", "0.9", "--task-scoring", "Contains",
                "--max-tokens", "32", "--temperature", "0.7", "--seed", "7", "--no-progress");

        assertThat(run.exitCode()).as(run.err()).isZero();
        var request = received();
        assertThat(request.getModel()).isEqualTo("demo");
        assertThat(request.getAdaptersList()).extracting(AdapterWeight::getName).containsExactly("task-lora", "style");
        assertThat(request.getMethodsList()).containsExactly(
                MergeMethod.LINEAR, MergeMethod.TIES, MergeMethod.DARE_LINEAR, MergeMethod.SLERP);
        assertThat(request.getRatiosList()).hasSize(11).contains(0.3, 0.7).startsWith(0.0).endsWith(1.0);
        assertThat(request.getHarmful()).isEqualTo(PromptSet.newBuilder().setBuiltin("demo-harmful").setLimit(25).build());
        assertThat(request.getTask()).isEqualTo(
                PromptSet.newBuilder().setPath("sets/task.jsonl").setFormat("jsonl").setLimit(25).build());
        assertThat(request.getBenign()).isEqualTo(
                PromptSet.newBuilder().setPath("xstest.csv").setFormat("xstest").setLimit(25).build());
        assertThat(request.getDetector()).isEqualTo("semantic");
        assertThat(request.getRefusalFloor()).isEqualTo(0.9);
        assertThat(request.getTaskScoring()).isEqualTo("contains");
        assertThat(request.getSampling().getMaxTokens()).isEqualTo(32);
        assertThat(request.getSampling().getTemperature()).isEqualTo(0.7);
        assertThat(request.getSampling().getSeed()).isEqualTo(7);
    }

    @Test
    void defaultsAreLinearOverZeroToOneGreedyWithTheDocumentedFloor() {
        server.respondSweep(SweepEvents.twoMethods());

        var run = run("sweep", "--adapter", "task-lora", "--harmful", "demo-harmful", "--task", "demo-task",
                "--no-progress");

        assertThat(run.exitCode()).as(run.err()).isZero();
        var request = received();
        assertThat(request.getMethodsList()).containsExactly(MergeMethod.LINEAR);
        assertThat(request.getRatiosList()).containsExactly(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0);
        assertThat(request.hasBenign()).isFalse();
        assertThat(request.getRefusalFloor()).isEqualTo(SweepCommand.DEFAULT_REFUSAL_FLOOR);
        assertThat(request.getTaskScoring()).isEqualTo("exact");
        assertThat(request.getSampling().hasTemperature()).isTrue();
        assertThat(request.getSampling().getTemperature()).isZero();
        assertThat(request.getSampling().hasSeed()).isFalse();
        assertThat(request.getHarmful().getLimit()).isZero();
    }

    @Test
    void printsTheTableAndTheRecommendation() {
        server.respondSweep(SweepEvents.twoMethods());

        var run = run("sweep", "--adapter", "task-lora", "--harmful", "demo-harmful", "--task", "demo-task",
                "--benign", "demo-benign", "--methods", "linear,ties", "--ratios", "0,0.5,1", "--no-progress");

        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).hasSize(2 + 6 + 1);
        assertThat(lines.getFirst()).contains("method", "ratio", "refusal", "over-refusal", "task", "tokens/s");
        assertThat(lines.get(3)).contains("LINEAR", "0.5", "90.0%", "5.0%", "70.0%", "123.5");
        assertThat(lines.getLast())
                .isEqualTo("recommended: LINEAR at ratio 0.5 (refusal 90.0% >= floor 85.0%, task 70.0%)");
        assertThat(run.err()).isEmpty();
    }

    @Test
    void saysWhyNothingWasRecommended() {
        server.respondSweep(SweepEvents.event(SweepEvents.point(MergeMethod.LINEAR, 1, 0.1, 0, 1)),
                SweepEvents.noRecommendation("no point has refusal_rate >= 0.85"));

        var run = run("sweep", "--adapter", "task-lora", "--harmful", "demo-harmful", "--task", "demo-task",
                "--no-progress");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out().lines().toList().getLast())
                .isEqualTo("no recommendation: no point has refusal_rate >= 0.85");
    }

    @Test
    void drawsTheProgressBarOnStderrWithTheServersStage() {
        server.respondSweep(SweepEvents.twoMethods());

        var run = run("sweep", "--adapter", "task-lora", "--harmful", "demo-harmful", "--task", "demo-task");

        assertThat(run.exitCode()).as(run.err()).isZero();
        // The last drawing (when the bar closes) shows the last progress event: 12 of 12, stage "done".
        assertThat(run.err()).contains("sweep", "12/12", "done").endsWith(System.lineSeparator());
        assertThat(run.out()).doesNotContain("sweep 100%");
    }

    @Test
    void writesCsvJsonPngAndSvg() throws Exception {
        server.respondSweep(SweepEvents.twoMethods());
        Path csv = dir.resolve("s.csv");
        Path json = dir.resolve("s.json");
        Path png = dir.resolve("s.png");
        Path svg = dir.resolve("s.svg");

        var run = run("sweep", "--adapter", "task-lora", "--harmful", "demo-harmful", "--task", "demo-task",
                "--ratios", "0,0.5,1", "--methods", "linear,ties", "--no-progress",
                "--csv", csv.toString(), "--json", json.toString(), "--png", png.toString(), "--svg", svg.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(Files.readAllLines(csv)).hasSize(7).first().asString().startsWith("method,ratio,");
        var root = new ObjectMapper().readTree(json.toFile());
        assertThat(root.get("points")).hasSize(6);
        assertThat(root.at("/request/ratios")).hasSize(3);
        assertThat(root.at("/recommendation/point/method").asText()).isEqualTo("LINEAR");
        assertThat(ImageIO.read(png.toFile()).getWidth()).isEqualTo(900);
        assertThat(Files.readString(svg)).contains("<svg", "</svg>");
        assertThat(run.err()).contains("wrote " + csv, "wrote " + json, "wrote " + png, "wrote " + svg);
    }

    @Test
    void anOutputInAMissingFolderIsRefusedBeforeTheSweepRuns() {
        var run = run("sweep", "--adapter", "task-lora", "--harmful", "demo-harmful", "--task", "demo-task",
                "--png", dir.resolve("nope/s.png").toString());

        assertThat(run.exitCode()).isEqualTo(ExitCodes.BAD_REQUEST);
        assertThat(run.err()).contains("--png", "does not exist");
        assertThat(server.sweepRequests).isEmpty();
    }

    @Test
    void aServerStatusBecomesItsExitCodeAndMessage() {
        server.failSweepWith(Status.NOT_FOUND.withDescription("harmful.builtin: no prompt set 'demo-harmfull'"));

        var run = run("sweep", "--adapter", "task-lora", "--harmful", "demo-harmfull", "--task", "demo-task",
                "--no-progress");

        assertThat(run.exitCode()).isEqualTo(ExitCodes.BAD_REQUEST);
        assertThat(run.err()).isEqualTo("error: NOT_FOUND: harmful.builtin: no prompt set 'demo-harmfull'"
                + System.lineSeparator());
        assertThat(run.out()).isEmpty();
    }

    @Test
    void badOptionsAreUsageErrorsNamingTheOption() {
        var ratios = run("sweep", "--adapter", "a", "--harmful", "h", "--task", "t", "--ratios", "0:1:0");
        assertThat(ratios.exitCode()).isEqualTo(ExitCodes.BAD_REQUEST);
        assertThat(ratios.err()).contains("--ratios", "step", "positive");

        var floor = run("sweep", "--adapter", "a", "--harmful", "h", "--task", "t", "--refusal-floor", "85");
        assertThat(floor.exitCode()).isEqualTo(ExitCodes.BAD_REQUEST);
        assertThat(floor.err()).contains("--refusal-floor must be in [0, 1]");

        var scoring = run("sweep", "--adapter", "a", "--harmful", "h", "--task", "t", "--task-scoring", "fuzzy");
        assertThat(scoring.err()).contains("--task-scoring", "'fuzzy'");

        var method = run("sweep", "--adapter", "a", "--harmful", "h", "--task", "t", "--methods", "linear,avg");
        assertThat(method.err()).contains("--methods", "'avg'");

        var seed = run("sweep", "--adapter", "a", "--harmful", "h", "--task", "t", "--seed", "7");
        assertThat(seed.exitCode()).isEqualTo(ExitCodes.BAD_REQUEST);
        assertThat(seed.err()).contains("--seed needs --temperature > 0");

        var missing = run("sweep", "--adapter", "a", "--task", "t");
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.BAD_REQUEST);
        assertThat(missing.err()).contains("--harmful");
        assertThat(server.sweepRequests).isEmpty();
    }

    @Test
    void ctrlCCancelsTheSweepOnTheServerAndExits130() throws Exception {
        server.respondSweep(SweepEvents.progress(3, 200, "LINEAR r=0 harmful")).holdSweepOpen();

        CompletableFuture<Run> running = CompletableFuture.supplyAsync(() -> run("sweep", "--adapter", "task-lora",
                "--harmful", "demo-harmful", "--task", "demo-task", "--no-progress"));
        assertThat(server.sweepStarted.await(LATCH_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(running).isNotDone();

        ctrlC.get().run();

        assertThat(server.sweepCancelled.await(LATCH_SECONDS, TimeUnit.SECONDS)).isTrue();
        Run run = running.get(LATCH_SECONDS, TimeUnit.SECONDS);
        assertThat(run.exitCode()).isEqualTo(ExitCodes.INTERRUPTED);
        assertThat(run.err()).contains("interrupted", "cancelled on the server");
        assertThat(run.out()).isEmpty();
        assertThat(ctrlC.get()).as("the command let go of Ctrl-C when it ended").isNull();
    }

    @Test
    void theDeadlineCancelsTheSweepOnTheServerAndExitsRetryable() throws Exception {
        server.respondSweep(SweepEvents.progress(3, 200, "LINEAR r=0 harmful")).holdSweepOpen();

        var run = run("sweep", "--adapter", "task-lora", "--harmful", "demo-harmful", "--task", "demo-task",
                "--deadline", "0.2", "--no-progress");

        assertThat(run.exitCode()).isEqualTo(ExitCodes.RETRYABLE);
        assertThat(run.err()).startsWith("error: DEADLINE_EXCEEDED");
        assertThat(server.sweepCancelled.await(LATCH_SECONDS, TimeUnit.SECONDS)).isTrue();
    }
}
