package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.ChatMessage;
import dev.realign.api.v1.ChatMessages;
import dev.realign.api.v1.FinishReason;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.SamplingParams;
import dev.realign.api.v1.TokenIds;
import dev.realign.model.synthetic.Architecture;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InferenceServiceTest {
    @TempDir
    static Path dir;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = new TestServer(TestServer.writeModel(dir.resolve("model"), Architecture.LLAMA3), 4, 8);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static GenerateRequest.Builder prompt(String text, int maxTokens) {
        return GenerateRequest.newBuilder().setPrompt(text)
                .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens));
    }

    private static List<Integer> ids(List<GenerateResponse> stream) {
        List<Integer> ids = new ArrayList<>();
        stream.forEach(r -> ids.addAll(r.getTokenIdsList()));
        return ids;
    }

    private static String text(List<GenerateResponse> stream) {
        StringBuilder text = new StringBuilder();
        stream.forEach(r -> text.append(r.getText()));
        return text.toString();
    }

    @Test
    void streamsOneTokenPerMessageWithUsageOnTheLast() {
        List<GenerateResponse> stream = server.generate(prompt("The capital of France is", 12).build());

        assertThat(stream).hasSize(12);
        assertThat(stream).allSatisfy(r -> assertThat(r.getTokenIdsCount()).isEqualTo(1));
        assertThat(stream.subList(0, 11)).allSatisfy(r -> assertThat(r.hasUsage()).isFalse());
        GenerateResponse last = stream.getLast();
        assertThat(last.getFinishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(last.getUsage().getCompletionTokens()).isEqualTo(12);
        assertThat(last.getUsage().getPromptTokens())
                .isEqualTo(server.model.tokenizer().encode("The capital of France is").length);
        assertThat(last.getUsage().getTimeToFirstTokenMs()).isPositive();
        assertThat(last.getProfileKey()).isEqualTo("base:" + TestServer.MODEL_ID);
        assertThat(last.getSafety().getDetector()).isEqualTo("keyword");
        assertThat(last.getRequestId()).isNotEmpty();
    }

    @Test
    void streamedTextIsTheDecodedTokens() {
        List<GenerateResponse> stream = server.generate(prompt("héllo wörld 日本語 🙂", 40).build());
        int[] ids = ids(stream).stream().mapToInt(Integer::intValue).toArray();
        // A random model emits arbitrary bytes, so the text may hold U+FFFD for invalid sequences; streaming
        // must still add up to exactly the decode of all tokens (valid UTF-8 is covered by the detokenizer tests).
        assertThat(text(stream)).isEqualTo(server.model.tokenizer().decode(ids));
    }

    @Test
    void greedyIsDeterministicAndSeededSamplingReproducible() {
        GenerateRequest greedy = prompt("Once upon a time", 16).build();
        assertThat(ids(server.generate(greedy))).isEqualTo(ids(server.generate(greedy)));

        GenerateRequest sampled = prompt("Once upon a time", 16)
                .setSampling(SamplingParams.newBuilder().setMaxTokens(16).setTemperature(1.5).setTopP(0.95)
                        .setTopK(50).setSeed(1234))
                .build();
        List<GenerateResponse> first = server.generate(sampled);
        assertThat(ids(server.generate(sampled))).isEqualTo(ids(first));
        assertThat(first.getLast().getUsage().getSeed()).isEqualTo(1234);
    }

    @Test
    void logprobsCarryTheChosenTokenAndTheTopAlternatives() {
        List<GenerateResponse> stream = server.generate(prompt("Numbers: 1 2 3", 6).setTopLogprobs(5).build());
        for (GenerateResponse r : stream) {
            var lp = r.getLogprobs(0);
            assertThat(lp.getTokenId()).isEqualTo(r.getTokenIds(0));
            assertThat(lp.getLogprob()).isLessThanOrEqualTo(0f);
            assertThat(lp.getTopList()).hasSize(5);
            // Greedy: the chosen token is the most likely one.
            assertThat(lp.getTop(0).getTokenId()).isEqualTo(lp.getTokenId());
            assertThat(lp.getTop(0).getLogprob()).isEqualTo(lp.getLogprob());
            for (int i = 1; i < 5; i++) {
                assertThat(lp.getTop(i).getLogprob()).isLessThanOrEqualTo(lp.getTop(i - 1).getLogprob());
            }
        }
    }

    @Test
    void promptTokenIdsAreUsedAsTheyAre() {
        GenerateRequest request = GenerateRequest.newBuilder()
                .setPromptTokenIds(TokenIds.newBuilder().addAllIds(List.of(5, 17, 42, 99)))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(3)).build();
        assertThat(server.generate(request).getLast().getUsage().getPromptTokens()).isEqualTo(4);
    }

    @Test
    void messagesAreRenderedWithTheChatTemplate() {
        GenerateRequest request = GenerateRequest.newBuilder()
                .setMessages(ChatMessages.newBuilder()
                        .addMessages(ChatMessage.newBuilder().setRole("system").setContent("Be brief."))
                        .addMessages(ChatMessage.newBuilder().setRole("user").setContent("Hi")))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(2)).build();
        String rendered = server.model.chatTemplate().orElseThrow().render(List.of(
                new dev.realign.tokenize.ChatTurn("system", "Be brief."),
                new dev.realign.tokenize.ChatTurn("user", "Hi")), true);
        assertThat(server.generate(request).getLast().getUsage().getPromptTokens())
                .isEqualTo(server.model.tokenizer().encode(rendered).length);
    }

    @Test
    void stopStringsEndTheStreamBeforeThem() {
        GenerateRequest free = prompt("The quick brown fox", 40).build();
        String full = text(server.generate(free));
        assertThat(full.length()).isGreaterThan(8);
        String stop = full.substring(5, 8);
        int at = full.indexOf(stop);

        List<GenerateResponse> stream = server.generate(prompt("The quick brown fox", 40)
                .setSampling(SamplingParams.newBuilder().setMaxTokens(40).addStop(stop)).build());
        assertThat(text(stream)).isEqualTo(full.substring(0, at));
        assertThat(stream.getLast().getFinishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void badInputIsRejectedWithTheFieldNamedAndTheServerKeepsServing() {
        int context = server.model.config().maxPositions();
        assertStatus(GenerateRequest.newBuilder().build(), Status.Code.INVALID_ARGUMENT, "prompt");
        assertStatus(prompt("", 4).build(), Status.Code.INVALID_ARGUMENT, "prompt must not be empty");
        assertStatus(prompt("hi", 4).setModel("nope").build(), Status.Code.NOT_FOUND, "model 'nope'");
        assertStatus(prompt("hi", context + 10).build(), Status.Code.INVALID_ARGUMENT, "sampling.max_tokens");
        assertStatus(GenerateRequest.newBuilder().setPromptTokenIds(TokenIds.newBuilder()
                        .addAllIds(Collections.nCopies(context, 7))).build(),
                Status.Code.INVALID_ARGUMENT, "context");
        assertStatus(prompt("hi", 4).setSampling(SamplingParams.newBuilder().setTemperature(-1)).build(),
                Status.Code.INVALID_ARGUMENT, "sampling.temperature");
        assertStatus(prompt("hi", 4).setSampling(SamplingParams.newBuilder().setTopP(1.5)).build(),
                Status.Code.INVALID_ARGUMENT, "sampling.top_p");
        assertStatus(prompt("hi", 4).setSampling(SamplingParams.newBuilder().setRepetitionPenalty(0)).build(),
                Status.Code.INVALID_ARGUMENT, "sampling.repetition_penalty");
        assertStatus(prompt("hi", 4).setSampling(SamplingParams.newBuilder().addStop("")).build(),
                Status.Code.INVALID_ARGUMENT, "sampling.stop[0]");
        assertStatus(prompt("hi", 4).setTopLogprobs(21).build(), Status.Code.INVALID_ARGUMENT, "top_logprobs");
        assertStatus(GenerateRequest.newBuilder().setPromptTokenIds(TokenIds.newBuilder().addIds(1).addIds(1 << 30)).build(),
                Status.Code.INVALID_ARGUMENT, "prompt_token_ids[1]");
        assertStatus(prompt("hi", 4).setProfile(MergeProfile.newBuilder()
                        .addAdapters(AdapterWeight.newBuilder().setName("task").setWeight(0.5))).build(),
                Status.Code.NOT_FOUND, "adapter 'task' is not loaded");

        assertThat(server.generate(prompt("still serving", 3).build())).hasSize(3);
    }

    private static void assertStatus(GenerateRequest request, Status.Code code, String messagePart) {
        assertThatThrownBy(() -> server.generate(request))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(code);
                    assertThat(e.getStatus().getDescription()).contains(messagePart);
                });
    }

    @Test
    void concurrentStreamsBatchedTogetherMatchTheirSoloRuns() throws Exception {
        List<String> prompts = List.of("alpha beta", "a much longer prompt about gamma and delta", "x", "zeta eta theta");
        List<List<Integer>> solo = new ArrayList<>();
        for (String p : prompts) {
            solo.add(ids(server.generate(prompt(p, 20).build())));
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(prompts.size())) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<List<Integer>>> together = new ArrayList<>();
            for (String p : prompts) {
                together.add(pool.submit(() -> {
                    go.await();
                    return ids(server.generate(prompt(p, 20).build()));
                }));
            }
            go.countDown();
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(together.get(i).get(60, TimeUnit.SECONDS)).as(prompts.get(i)).isEqualTo(solo.get(i));
            }
        }
    }

    @Test
    void clientCancelStopsDecodingAndFreesTheSequence() throws Exception {
        CompletableFuture<Status> ended = new CompletableFuture<>();
        AtomicReference<ClientCallStreamObserver<GenerateRequest>> call = new AtomicReference<>();
        List<GenerateResponse> received = Collections.synchronizedList(new ArrayList<>());
        InferenceGrpc.newStub(server.channel).generate(prompt(longRunningPrompt(), 300).build(),
                new ClientResponseObserver<GenerateRequest, GenerateResponse>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
                        call.set(requestStream);
                    }

                    @Override
                    public void onNext(GenerateResponse value) {
                        received.add(value);
                        if (received.size() == 3) {
                            call.get().cancel("enough", null);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        ended.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        ended.complete(Status.OK);
                    }
                });
        assertThat(ended.get(30, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
        awaitIdle();
        assertThat(received.size()).isLessThan(300);
    }

    /** A prompt whose greedy continuation does not end before 300 tokens. */
    private static String longRunningPrompt() {
        for (String candidate : List.of("slow", "cancel me", "a long story", "the quick brown fox", "zzz", "1 2 3 4")) {
            if (server.generate(prompt(candidate, 300).build()).getLast().getFinishReason() == FinishReason.LENGTH) {
                return candidate;
            }
        }
        throw new AssertionError("every candidate prompt ended early");
    }

    private static void awaitIdle() throws InterruptedException {
        var scheduler = server.server.models().resolve("").scheduler();
        for (int i = 0; i < 200 && scheduler.runningCount() > 0; i++) {
            Thread.sleep(25);
        }
        assertThat(scheduler.runningCount()).isZero();
    }
}
