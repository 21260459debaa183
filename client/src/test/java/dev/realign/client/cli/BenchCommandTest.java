package dev.realign.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.api.v1.MergeMethod;
import dev.realign.client.Chunks;
import dev.realign.client.FakeRealignServer;
import dev.realign.client.RealignClient;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchCommandTest {

    private final FakeRealignServer server = new FakeRealignServer().respond(Chunks.all());
    private final ClientConnector inProcess = (target, options) ->
            RealignClient.owning(InProcessChannelBuilder.forName(target).directExecutor().build(), options);

    @TempDir
    Path dir;

    @AfterEach
    void stopServer() {
        server.close();
    }

    private record Run(int exitCode, String out, String err) {
    }

    private Run bench(String... args) {
        var all = new ArrayList<>(List.of("bench", "--server", server.name()));
        all.addAll(List.of(args));
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int code = ClientMain.run(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), inProcess, Map.of(), all.toArray(String[]::new));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void printsATableOfTheRun() {
        var run = bench("--concurrency", "2", "--requests", "6", "--prompt", "hi", "--max-tokens", "8");

        assertThat(run.exitCode()).isZero();
        assertThat(run.err()).isEmpty();
        assertThat(run.out()).contains("concurrency          2", "requests             6 (6 completed)",
                "completion tokens    24", "throughput ", "time to first token  p50 ", "errors               none");
        assertThat(server.requests).hasSize(6).allSatisfy(r -> assertThat(r.getSampling().getMaxTokens()).isEqualTo(8));
    }

    @Test
    void jsonReportWithAdaptersRatiosMethodAndPromptFile() throws Exception {
        Path prompts = Files.writeString(dir.resolve("prompts.txt"), "first\n\nsecond\n");

        var run = bench("--requests", "8", "--prompt-file", prompts.toString(), "--adapter", "a", "--adapter", "b",
                "--ratios", "0,0.5", "--method", "ties", "--json");

        assertThat(run.exitCode()).isZero();
        var json = new ObjectMapper().readTree(run.out());
        assertThat(json.get("requests").asInt()).isEqualTo(8);
        assertThat(json.get("profiles").asInt()).isEqualTo(4);
        assertThat(json.get("completionTokens").asLong()).isEqualTo(32);
        assertThat(server.requests.stream().map(r -> r.getPrompt()).distinct()).containsExactly("first", "second");
        assertThat(server.requests).allSatisfy(r -> assertThat(r.getProfile().getMethod()).isEqualTo(MergeMethod.TIES));
        assertThat(server.requests.stream().map(r -> r.getProfile().getAdapters(0).getWeight()).distinct())
                .containsExactlyInAnyOrder(0.0, 0.5);
    }

    @Test
    void errorsAreReportedByStatusAndAllFailedExitsOne() {
        server.failFor(r -> Status.UNAVAILABLE.withDescription("draining"));

        var run = bench("--requests", "3", "--prompt", "hi");

        assertThat(run.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(run.out()).contains("requests             3 (0 completed)", "errors UNAVAILABLE   3");
    }

    @Test
    void withoutABoundTheDefaultCountApplies() {
        var run = bench("--prompt", "hi", "--concurrency", "4", "--max-tokens", "1");

        assertThat(run.exitCode()).isZero();
        assertThat(server.requests).hasSize(BenchCommand.DEFAULT_REQUESTS);
    }

    @Test
    void badOptionsAreUsageErrorsAndSendNothing() {
        assertUsage(bench("--requests", "2"), "missing prompts");
        assertUsage(bench("--prompt", "p", "--concurrency", "0"), "concurrency must be at least 1");
        assertUsage(bench("--prompt", "p", "--requests", "0"), "--requests must be at least 1");
        assertUsage(bench("--prompt", "p", "--requests", "-1"), "expected an integer >= 0");
        assertUsage(bench("--prompt", "p", "--duration", "0"), "positive number of seconds");
        assertUsage(bench("--prompt", "p", "--ratios", "0.5"), "need at least one adapter");
        assertUsage(bench("--prompt", "p", "--method", "ties"), "need at least one adapter");
        assertUsage(bench("--prompt", "p", "--adapter", "a", "--ratios", "x"), "--ratios");
        assertUsage(bench("--prompt", "p", "--adapter", "a", "--method", "nope"), "expected one of linear");
        assertThat(server.requests).isEmpty();
    }

    @Test
    void anUnreadablePromptFileFailsWithItsName() {
        var run = bench("--prompt-file", dir.resolve("absent.txt").toString());

        assertThat(run.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(run.err()).startsWith("error: cannot read --prompt-file").contains("absent.txt");
    }

    private static void assertUsage(Run run, String message) {
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.BAD_REQUEST);
        assertThat(run.err()).startsWith("error: ").contains(message);
        assertThat(run.out()).isEmpty();
    }
}
