package dev.realign.client.demo;

import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.ChatMessage;
import dev.realign.api.v1.ChatMessages;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.PromptSet;
import dev.realign.api.v1.SamplingParams;
import dev.realign.api.v1.SweepRequest;
import java.util.List;

/**
 * The demo's two kinds of request, with the same settings so the side-by-side answers and the table agree:
 * one adapter merged linearly at a ratio, greedy, short answers.
 */
public final class DemoRequests {

    /** Greedy answers of the demo world are short. */
    static final int MAX_TOKENS = 40;
    /** The held-out sets the server ships for the demo family. */
    public static final String HARMFUL_SET = "demo-harmful";
    public static final String BENIGN_SET = "demo-benign";
    public static final String TASK_SET = "demo-task";

    private DemoRequests() {
    }

    /** A chat request for one prompt with {@code adapter} merged linearly at {@code ratio}, greedy. */
    public static GenerateRequest generate(String adapter, double ratio, String prompt) {
        return GenerateRequest.newBuilder()
                .setMessages(ChatMessages.newBuilder().addMessages(
                        ChatMessage.newBuilder().setRole("user").setContent(prompt)))
                .setProfile(MergeProfile.newBuilder().setMethod(MergeMethod.LINEAR)
                        .addAdapters(AdapterWeight.newBuilder().setName(adapter).setWeight(ratio)))
                .setSampling(greedy())
                .build();
    }

    /**
     * The table's sweep: {@code adapter} merged linearly at each ratio over the builtin held-out sets (at most
     * {@code limit} prompts each; 0 = all), refusals by the server's default detector, task answers scored
     * by exact match.
     */
    public static SweepRequest sweep(String adapter, List<Double> ratios, int limit, double refusalFloor) {
        return SweepRequest.newBuilder()
                .addAdapters(AdapterWeight.newBuilder().setName(adapter))
                .addMethods(MergeMethod.LINEAR)
                .addAllRatios(ratios)
                .setHarmful(PromptSet.newBuilder().setBuiltin(HARMFUL_SET).setLimit(limit))
                .setTask(PromptSet.newBuilder().setBuiltin(TASK_SET).setLimit(limit))
                .setBenign(PromptSet.newBuilder().setBuiltin(BENIGN_SET).setLimit(limit))
                .setSampling(greedy())
                .setRefusalFloor(refusalFloor)
                .setTaskScoring("exact")
                .build();
    }

    private static SamplingParams greedy() {
        return SamplingParams.newBuilder().setTemperature(0).setMaxTokens(MAX_TOKENS).build();
    }
}
