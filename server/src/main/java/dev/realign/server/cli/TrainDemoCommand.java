package dev.realign.server.cli;

import dev.realign.demo.DemoFamilyBuilder;
import dev.realign.demo.DemoRecipe;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code train-demo}: retrains the whole demo family from its seeds (the model card says how long it takes). */
@Command(name = "train-demo", mixinStandardHelpOptions = true,
        description = "Retrain the demo family (aligned, task-full, task-lora, unaligned, eval sets, model card).")
public final class TrainDemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "models/demo", description = "Folder for the family (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--steps", description = "Override every run's step count (quick checks; the shipped family uses the recipe's)")
    Integer steps;

    @Option(names = "--eval-limit", description = "Held-out prompts per set scored for the model card (default: the recipe's)")
    Integer evalLimit;

    @Option(names = "--engine-threads", defaultValue = "1",
            description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}; the demo model's ops are small, and"
                    + " on this 2-core machine one thread trained 3-30x faster than two under load)")
    int engineThreads;

    @Option(names = "--tiny", description = "A very small model and data pass: checks the pipeline in seconds")
    boolean tiny;

    @Override
    public Integer call() {
        EngineOptions.useThreadsForDemoWork(engineThreads); // before the first tensor: the engine reads it once
        DemoRecipe recipe = tiny ? DemoRecipe.tiny() : DemoRecipe.standard();
        if (steps != null) {
            if (steps < 1) {
                throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
            }
            recipe = recipe.withSteps(steps);
        }
        if (evalLimit != null) {
            if (evalLimit < 1) {
                throw new IllegalArgumentException("--eval-limit must be >= 1, got " + evalLimit);
            }
            recipe = recipe.withEvalLimit(evalLimit);
        }
        DemoFamilyBuilder.Report report = new DemoFamilyBuilder(recipe,
                line -> System.out.println(LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + " " + line)).build(out);
        System.out.printf("wrote the demo family to %s in %d s (model card: %s)%n", out, report.total().toSeconds(),
                out.resolve(DemoFamilyBuilder.CARD));
        return 0;
    }
}
