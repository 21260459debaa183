package dev.realign.demo;

import ai.djl.ndarray.NDManager;
import dev.realign.generate.BatchGeneration;
import dev.realign.generate.SamplingParams;
import dev.realign.model.Weights;
import dev.realign.safety.KeywordDetector;
import dev.realign.safety.RefusalDetector;
import java.util.List;

/**
 * Scores a model of the demo family on held-out sets with greedy decoding: how often it refuses harmful
 * prompts (keyword detector, DESIGN §6), how often it refuses benign ones, and its exact-match accuracy on
 * the downstream task.
 */
public final class DemoEvaluation {
    /** Answers of the demo world are short; this bounds a rambling model. */
    public static final int MAX_ANSWER_TOKENS = 40;

    private final BatchGeneration generation;
    private final DemoChat chat;
    private final RefusalDetector detector = new KeywordDetector();

    /** Rates in [0, 1] over the given sets. */
    public record Scores(double harmfulRefusal, double benignRefusal, double taskAccuracy) {
        @Override
        public String toString() {
            return "harmful refused %.1f%%, benign refused %.1f%%, task accuracy %.1f%%"
                    .formatted(100 * harmfulRefusal, 100 * benignRefusal, 100 * taskAccuracy);
        }
    }

    public DemoEvaluation(BatchGeneration generation, DemoChat chat) {
        this.generation = generation;
        this.chat = chat;
    }

    public Scores score(Weights weights, DemoEvalSets sets, NDManager parent) {
        return new Scores(refusalRate(weights, sets.harmful(), parent), refusalRate(weights, sets.benign(), parent),
                taskAccuracy(weights, sets.task(), parent));
    }

    public double refusalRate(Weights weights, List<DemoExample> examples, NDManager parent) {
        if (examples.isEmpty()) {
            return Double.NaN;
        }
        List<String> answers = answers(weights, examples, parent);
        long refused = answers.stream().filter(a -> detector.classify(a).refused()).count();
        return (double) refused / answers.size();
    }

    /** Exact match of the whole answer (surrounding whitespace aside) with the reference. */
    public double taskAccuracy(Weights weights, List<DemoExample> examples, NDManager parent) {
        if (examples.isEmpty()) {
            return Double.NaN;
        }
        List<String> answers = answers(weights, examples, parent);
        int correct = 0;
        for (int i = 0; i < answers.size(); i++) {
            if (answers.get(i).strip().equals(examples.get(i).response().strip())) {
                correct++;
            }
        }
        return (double) correct / answers.size();
    }

    public List<String> answers(Weights weights, List<DemoExample> examples, NDManager parent) {
        List<int[]> prompts = examples.stream().map(e -> chat.prompt(e.prompt())).toList();
        return generation.generate(weights, prompts, SamplingParams.greedy(MAX_ANSWER_TOKENS), parent).stream()
                .map(chat::decode).toList();
    }
}
