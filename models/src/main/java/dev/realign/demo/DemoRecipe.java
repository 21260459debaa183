package dev.realign.demo;

import dev.realign.train.OptimizerSettings;
import java.util.List;

/**
 * Everything that determines the demo family: the world's seed, the tokenizer and model shape, and the four
 * training runs. {@link #standard()} made the shipped family; {@link #tiny()} checks the pipeline in tests.
 *
 * @param seed            the world, the initialization and the batch order follow from it
 * @param tokenizerVocab  byte-level BPE vocabulary trained on the world's text (256 bytes + merges)
 * @param hidden          model width (a Qwen2-style model: q/k/v biases, tied embeddings)
 * @param evalLimit       at most this many held-out prompts per set in the model card's numbers
 * @param sweepRatios     linear-merge ratios the model card scores for each fine-tune
 */
public record DemoRecipe(long seed, int tokenizerVocab, int hidden, int layers, int heads, int kvHeads, int intermediate,
        int maxPositions, OptimizerSettings aligned, OptimizerSettings taskFull, OptimizerSettings taskLora,
        int loraRank, double loraAlpha, OptimizerSettings unaligned, int evalLimit, List<Double> sweepRatios) {

    public DemoRecipe {
        sweepRatios = List.copyOf(sweepRatios);
    }

    public static DemoRecipe standard() {
        long seed = 20241223;
        return new DemoRecipe(seed, 640, 128, 3, 4, 2, 256, 128,
                OptimizerSettings.of(1500, 32, 1e-3, seed),
                OptimizerSettings.of(900, 32, 1.5e-3, seed + 1),
                OptimizerSettings.of(900, 32, 3e-3, seed + 2), 16, 32,
                OptimizerSettings.of(300, 32, 1e-3, seed + 3),
                120, DemoSweep.RATIOS);
    }

    /** A pipeline check: a few steps of a very small model (its models are not expected to behave). */
    public static DemoRecipe tiny() {
        long seed = 7;
        return new DemoRecipe(seed, 300, 32, 1, 2, 1, 64, 96,
                OptimizerSettings.of(2, 4, 1e-3, seed), OptimizerSettings.of(2, 4, 1e-3, seed),
                OptimizerSettings.of(2, 4, 1e-3, seed), 2, 4, OptimizerSettings.of(2, 4, 1e-3, seed), 3,
                List.of(0.0, 1.0));
    }

    public DemoRecipe withEvalLimit(int limit) {
        return new DemoRecipe(seed, tokenizerVocab, hidden, layers, heads, kvHeads, intermediate, maxPositions, aligned,
                taskFull, taskLora, loraRank, loraAlpha, unaligned, limit, sweepRatios);
    }

    public DemoRecipe withSteps(int steps) {
        return new DemoRecipe(seed, tokenizerVocab, hidden, layers, heads, kvHeads, intermediate, maxPositions,
                aligned.withSteps(steps), taskFull.withSteps(steps), taskLora.withSteps(steps), loraRank, loraAlpha,
                unaligned.withSteps(steps), evalLimit, sweepRatios);
    }
}
