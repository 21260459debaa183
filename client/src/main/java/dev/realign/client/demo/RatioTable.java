package dev.realign.client.demo;

import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.ChatMessage;
import dev.realign.api.v1.ChatMessages;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.SamplingParams;
import dev.realign.client.GenerationResult;
import dev.realign.client.RealignClient;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures, through the server, how one adapter merged at a ratio behaves: the refusal rate on harmful
 * prompts (the server's refusal verdict), the refusal rate on benign prompts, and exact-match accuracy on
 * task prompts. Requests run greedily and concurrently, so the server batches them.
 */
public final class RatioTable {
    /** Greedy answers of the demo world are short. */
    static final int MAX_TOKENS = 40;

    /** One row of the table. */
    public record Row(String adapter, double ratio, double harmfulRefused, double benignRefused, double taskAccuracy) {}

    private final RealignClient client;
    private final int concurrency;

    public RatioTable(RealignClient client, int concurrency) {
        this.client = client;
        this.concurrency = concurrency;
    }

    public Row measure(String adapter, double ratio, List<EvalPrompt> harmful, List<EvalPrompt> benign,
                       List<EvalPrompt> task) {
        List<GenerationResult> h = answers(adapter, ratio, harmful);
        List<GenerationResult> b = answers(adapter, ratio, benign);
        List<GenerationResult> t = answers(adapter, ratio, task);
        int correct = 0;
        for (int i = 0; i < t.size(); i++) {
            if (t.get(i).text().strip().equals(task.get(i).reference().strip())) {
                correct++;
            }
        }
        return new Row(adapter, ratio, refusedShare(h), refusedShare(b), task.isEmpty() ? Double.NaN
                : (double) correct / task.size());
    }

    /** The greedy answers to the prompts, in order. */
    public List<GenerationResult> answers(String adapter, double ratio, List<EvalPrompt> prompts) {
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        try {
            List<Future<GenerationResult>> futures = new ArrayList<>();
            for (EvalPrompt p : prompts) {
                futures.add(pool.submit(() -> client.generateText(request(adapter, ratio, p.prompt()))));
            }
            List<GenerationResult> results = new ArrayList<>();
            for (Future<GenerationResult> f : futures) {
                results.add(f.get());
            }
            return results;
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /** A chat request for one prompt with {@code adapter} merged linearly at {@code ratio}, greedy. */
    public static GenerateRequest request(String adapter, double ratio, String prompt) {
        return GenerateRequest.newBuilder()
                .setMessages(ChatMessages.newBuilder().addMessages(
                        ChatMessage.newBuilder().setRole("user").setContent(prompt)))
                .setProfile(MergeProfile.newBuilder().setMethod(MergeMethod.LINEAR)
                        .addAdapters(AdapterWeight.newBuilder().setName(adapter).setWeight(ratio)))
                .setSampling(SamplingParams.newBuilder().setTemperature(0).setMaxTokens(MAX_TOKENS))
                .build();
    }

    private static double refusedShare(List<GenerationResult> results) {
        if (results.isEmpty()) {
            return Double.NaN;
        }
        return (double) results.stream().filter(r -> r.safety() != null && r.safety().getRefused()).count()
                / results.size();
    }
}
