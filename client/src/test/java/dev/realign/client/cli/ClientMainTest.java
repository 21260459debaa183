package dev.realign.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.api.v1.ChatMessage;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.MergeMethod;
import dev.realign.client.Chunks;
import dev.realign.client.FakeRealignServer;
import dev.realign.client.RealignClient;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ClientMainTest {

    private final FakeRealignServer server = new FakeRealignServer();
    /** The --server values the CLI connected to. */
    private final List<String> targets = new ArrayList<>();

    /** Reaches the in-process server named by --server, the way the real connector reaches host:port. */
    private final ClientConnector inProcess = (target, options) -> {
        targets.add(target);
        return RealignClient.owning(InProcessChannelBuilder.forName(target).directExecutor().build(), options);
    };

    @AfterEach
    void stopServer() {
        server.close();
    }

    private record Run(int exitCode, String out, String err) {
        List<String> outLines() {
            return out.lines().toList();
        }
    }

    private Run run(Map<String, String> env, String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int code = ClientMain.run(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), inProcess, env, args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs against the fake server, with an empty environment. */
    private Run run(String... args) {
        var withServer = new ArrayList<>(List.of(args));
        if (!withServer.isEmpty()) {
            withServer.addAll(1, List.of("--server", server.name()));
        }
        return run(Map.of(), withServer.toArray(String[]::new));
    }

    private GenerateRequest received() {
        assertThat(server.requests).hasSize(1);
        return server.requests.getFirst();
    }

    @Test
    void generatePrintsTheStreamedTextAndASummary() {
        server.respond(Chunks.all());

        var run = run("generate", "Say", "hello");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).isEqualTo("Hello, world!" + System.lineSeparator());
        assertThat(run.err()).startsWith("finish=STOP prompt_tokens=4 completion_tokens=4 ttft_ms=")
                .contains(" tokens_per_s=", " seed=42", " profile=linear:medical@0.7", " refused=false");
        assertThat(received().getPrompt()).isEqualTo("Say hello");
    }

    @Test
    void jsonPrintsOneObjectPerChunk() throws Exception {
        server.respond(Chunks.all());

        var run = run("generate", "--json", "--prompt", "Say hello");

        assertThat(run.exitCode()).isZero();
        assertThat(run.err()).isEmpty();
        var mapper = new ObjectMapper();
        var lines = run.outLines();
        assertThat(lines).hasSize(3);
        List<JsonNode> objects = new ArrayList<>();
        for (var line : lines) {
            objects.add(mapper.readTree(line));
        }
        assertThat(objects).allSatisfy(o -> assertThat(o.isObject()).isTrue());
        assertThat(objects).extracting(o -> o.get("text").asText()).containsExactly("Hello", ", world", "!");
        assertThat(objects.get(1).get("tokenIds")).hasSize(2);
        var last = objects.get(2);
        assertThat(last.get("finishReason").asText()).isEqualTo("STOP");
        assertThat(last.get("usage").get("completionTokens").asInt()).isEqualTo(4);
        assertThat(last.get("profileKey").asText()).isEqualTo("linear:medical@0.7");
    }

    @Test
    void optionsMapOntoTheRequest() {
        server.respond(Chunks.all());

        var run = run("generate", "--model", "demo-1b", "--prompt", "Hi",
                "--max-tokens", "64", "--temperature", "0.7", "--top-p", "0.9", "--top-k", "40",
                "--seed", "18446744073709551615", "--stop", "\n\n", "--stop", "END",
                "--repetition-penalty", "1.1", "--top-logprobs", "5",
                "--adapter", "medical=0.7", "--adapter", "legal=0.25", "--method", "dare-ties",
                "--deadline", "30");

        assertThat(run.exitCode()).as(run.err()).isZero();
        var request = received();
        assertThat(request.getModel()).isEqualTo("demo-1b");
        assertThat(request.getPrompt()).isEqualTo("Hi");
        var sampling = request.getSampling();
        assertThat(sampling.getMaxTokens()).isEqualTo(64);
        assertThat(sampling.getTemperature()).isEqualTo(0.7);
        assertThat(sampling.getTopP()).isEqualTo(0.9);
        assertThat(sampling.getTopK()).isEqualTo(40);
        assertThat(Long.toUnsignedString(sampling.getSeed())).isEqualTo("18446744073709551615");
        assertThat(sampling.getStopList()).containsExactly("\n\n", "END");
        assertThat(sampling.getRepetitionPenalty()).isEqualTo(1.1);
        assertThat(request.getTopLogprobs()).isEqualTo(5);
        var profile = request.getProfile();
        assertThat(profile.getAdaptersList()).extracting(a -> a.getName() + "=" + a.getWeight())
                .containsExactly("medical=0.7", "legal=0.25");
        assertThat(profile.getMethod()).isEqualTo(MergeMethod.DARE_TIES);
        assertThat(server.deadlines).hasSize(1);
    }

    @Test
    void unsetOptionsStayUnset() {
        server.respond(Chunks.all());

        assertThat(run("generate", "Hi").exitCode()).isZero();

        var request = received();
        assertThat(request.getModel()).isEmpty();
        assertThat(request.hasSampling()).isFalse();
        assertThat(request.hasProfile()).isFalse();
        assertThat(request.getTopLogprobs()).isZero();
        assertThat(server.deadlines).isEmpty();
        assertThat(server.lastAuthorization()).isNull();
    }

    @Test
    void onlyTheSamplingFieldsGivenAreSent() {
        server.respond(Chunks.all());

        assertThat(run("generate", "Hi", "--temperature", "0").exitCode()).isZero();

        var sampling = received().getSampling();
        assertThat(sampling.hasTemperature()).isTrue();
        assertThat(sampling.getTemperature()).isZero();
        assertThat(sampling.hasTopP()).isFalse();
        assertThat(sampling.hasSeed()).isFalse();
        assertThat(sampling.hasRepetitionPenalty()).isFalse();
        assertThat(sampling.getTopK()).isZero();
        assertThat(sampling.getMaxTokens()).isZero();
        assertThat(sampling.getStopList()).isEmpty();
    }

    @Test
    void chatSendsMessagesWithTheSystemPromptFirst() {
        server.respond(Chunks.all());

        assertThat(run("generate", "--chat", "--system", "Be brief.", "What is 2+2?").exitCode()).isZero();

        var request = received();
        assertThat(request.hasMessages()).isTrue();
        assertThat(request.getMessages().getMessagesList()).containsExactly(
                ChatMessage.newBuilder().setRole("system").setContent("Be brief.").build(),
                ChatMessage.newBuilder().setRole("user").setContent("What is 2+2?").build());
    }

    @Test
    void methodNamesAreCaseInsensitiveAndPresetsGoAlone() {
        server.respond(Chunks.all());

        assertThat(run("generate", "Hi", "--adapter", "medical=0.5", "--method", "Slerp").exitCode()).isZero();
        assertThat(server.requests.getLast().getProfile().getMethod()).isEqualTo(MergeMethod.SLERP);

        assertThat(run("generate", "Hi", "--preset", "safe-medical").exitCode()).isZero();
        var profile = server.requests.getLast().getProfile();
        assertThat(profile.getPreset()).isEqualTo("safe-medical");
        assertThat(profile.getAdaptersList()).isEmpty();
    }

    @Test
    void aServerErrorBecomesOneLineAndExitCode2() {
        server.respond(Chunks.FIRST).failWith(
                Status.INVALID_ARGUMENT.withDescription("sampling.temperature must be in [0, 100]"));

        var run = run("generate", "Hi", "--temperature", "500");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).isEqualTo("error: INVALID_ARGUMENT: sampling.temperature must be in [0, 100]"
                + System.lineSeparator());
    }

    @Test
    void exitCodesFollowTheStatus() {
        server.failWith(Status.RESOURCE_EXHAUSTED.withDescription("queue full"));
        var overloaded = run("generate", "Hi");
        assertThat(overloaded.exitCode()).isEqualTo(3);
        assertThat(overloaded.err()).startsWith("error: RESOURCE_EXHAUSTED: queue full");

        server.failWith(Status.INTERNAL.withDescription("bug, request id req-9"));
        assertThat(run("generate", "Hi").exitCode()).isEqualTo(1);

        server.failWith(Status.UNAUTHENTICATED.withDescription("unknown API key"));
        assertThat(run("generate", "Hi").exitCode()).isEqualTo(2);
    }

    @Test
    void anAdapterWithoutWeightIsAUsageError() {
        var run = run("generate", "Hi", "--adapter", "medical");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("--adapter", "NAME=WEIGHT", "'medical'");
        assertThat(run.err().lines().findFirst().orElseThrow()).startsWith("error: ");
        assertThat(server.requests).isEmpty();
        assertThat(targets).isEmpty();
    }

    @Test
    void badOptionCombinationsAreUsageErrors() {
        assertThat(run("generate", "--system", "Be brief.", "Hi").err()).contains("--system needs --chat");
        assertThat(run("generate", "--prompt", "a", "b").err()).contains("not both");
        assertThat(run("generate").err()).contains("missing the prompt");
        assertThat(run("generate", "Hi", "--preset", "p", "--adapter", "a=1").err())
                .contains("--preset", "cannot be combined");
        var badMethod = run("generate", "Hi", "--method", "average");
        assertThat(badMethod.exitCode()).isEqualTo(2);
        assertThat(badMethod.err()).contains("--method", "dare_ties");
        assertThat(run("generate", "Hi", "--top-k", "-1").err()).contains("--top-k", ">= 0");
        assertThat(run("generate", "Hi", "--deadline", "0").err()).contains("--deadline");
        assertThat(run(Map.of(), "generate", "Hi", "--server", " ").err()).contains("--server");
        assertThat(server.requests).isEmpty();
    }

    @Test
    void serverAndKeyComeFromTheEnvironment() {
        server.respond(Chunks.all());
        var env = Map.of("REALIGN_SERVER", server.name(), "REALIGN_API_KEY", "sk-from-env");

        assertThat(run(env, "generate", "Hi").exitCode()).isZero();
        assertThat(targets).containsExactly(server.name());
        assertThat(server.lastAuthorization()).isEqualTo("Bearer sk-from-env");

        assertThat(run(env, "generate", "--api-key", "sk-flag", "Hi").exitCode()).isZero();
        assertThat(server.lastAuthorization()).isEqualTo("Bearer sk-flag");
    }

    @Test
    void theDefaultServerIsLocalhost50051() {
        run(Map.of(), "generate", "Hi");
        assertThat(targets).containsExactly("localhost:50051");
    }

    @Test
    void healthPrintsTheStatusAndExitsZeroOnlyWhenServing() {
        var serving = run("health");
        assertThat(serving.exitCode()).isZero();
        assertThat(serving.out().strip()).isEqualTo("SERVING");

        server.setServing(ServingStatus.NOT_SERVING);
        var notServing = run("health");
        assertThat(notServing.exitCode()).isEqualTo(1);
        assertThat(notServing.out().strip()).isEqualTo("NOT_SERVING");
    }

    @Test
    void waitReadyGivesUpWithUnavailable() {
        server.setServing(ServingStatus.NOT_SERVING);
        server.respond(Chunks.all());

        var run = run("generate", "--wait-ready", "0.3", "Hi");

        assertThat(run.exitCode()).isEqualTo(3);
        assertThat(run.err()).startsWith("error: UNAVAILABLE: server at " + server.name() + " was not SERVING within 0.3 s");
        assertThat(server.requests).isEmpty();
    }

    @Test
    void waitReadyProceedsWhenServing() {
        server.respond(Chunks.all());
        assertThat(run("generate", "--wait-ready", "5", "Hi").exitCode()).isZero();
        assertThat(server.requests).hasSize(1);
    }

    @Test
    void noSubcommandIsAUsageErrorAndHelpWorks() {
        assertThat(run(Map.of()).exitCode()).isEqualTo(2);
        var help = run(Map.of(), "generate", "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("--adapter=NAME=WEIGHT", "--wait-ready=SECONDS", "dare_ties");
    }
}
