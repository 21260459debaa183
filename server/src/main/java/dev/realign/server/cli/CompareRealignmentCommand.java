package dev.realign.server.cli;

import dev.realign.demo.RealignmentComparison;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code compare-realignment}: every realignment method on the demo family's fine-tunes, scored on the held-out
 * sets, as the README's comparison table.
 */
@Command(name = "compare-realignment", mixinStandardHelpOptions = true,
        description = {"Score aligned, fine-tuned, best linear ratio, RESTA, Safe LoRA, IRR (and without",
            "recalibration) and SOMF on the demo family's task-full and task-lora; print a Markdown table."})
public final class CompareRealignmentCommand implements Callable<Integer> {
    @Option(names = "--family", defaultValue = "models/demo", description = "The demo family (default: ${DEFAULT-VALUE})")
    Path family;

    @Option(names = "--limit", defaultValue = "120", description = "Held-out prompts per set (default: ${DEFAULT-VALUE})")
    int limit;

    @Option(names = "--safety-prompts", defaultValue = "64",
            description = "Training harmful prompts for IRR's Fisher and SOMF's pairs (default: ${DEFAULT-VALUE})")
    int safetyPrompts;

    @Option(names = "--calibration-prompts", defaultValue = "128",
            description = "Training task examples for IRR's recalibration (default: ${DEFAULT-VALUE})")
    int calibrationPrompts;

    @Option(names = "--somf-steps", defaultValue = "200", description = "SOMF's mask steps (default: ${DEFAULT-VALUE})")
    int somfSteps;

    @Option(names = "--floor", defaultValue = "0.85",
            description = "Refusal rate a grid setting must reach to be picked (default: ${DEFAULT-VALUE})")
    double floor;

    @Option(names = "--ratios", split = ",", paramLabel = "R,R...",
            description = "The linear merge's ratios (default: 0, 0.1, ..., 1)")
    List<Double> ratios = RealignmentComparison.Options.DEFAULTS.ratios();

    @Option(names = "--resta-lambdas", split = ",", paramLabel = "L,L...",
            description = "RESTA's safety-vector strengths (default: 0.5, 1, 2, 3)")
    List<Double> restaLambdas = RealignmentComparison.Options.DEFAULTS.restaLambdas();

    @Option(names = "--safe-lora-thresholds", split = ",", paramLabel = "T,T...",
            description = "Safe LoRA's cosine thresholds (default: 0.1, 0.3, 0.5, 0.7, 0.9)")
    List<Double> safeLoraThresholds = RealignmentComparison.Options.DEFAULTS.safeLoraThresholds();

    @Option(names = "--out", description = "Also write the table to this file")
    Path out;

    @Option(names = "--engine-threads", defaultValue = "1",
            description = "libtorch intra-op threads (default: ${DEFAULT-VALUE}: the demo model's ops are small)")
    int engineThreads;

    @Override
    public Integer call() {
        EngineOptions.useThreadsForDemoWork(engineThreads); // before the first tensor: the engine reads it once
        var options = new RealignmentComparison.Options(limit, safetyPrompts, calibrationPrompts, somfSteps, floor,
                ratios, restaLambdas, safeLoraThresholds);
        long start = System.nanoTime();
        List<RealignmentComparison.Row> rows = new RealignmentComparison(family, options).run(row ->
                System.err.println(LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + " " + (row.fineTune().isEmpty()
                        ? "" : row.fineTune() + ": ") + row.method() + " " + row.setting() + ": " + row.scores()));
        String table = RealignmentComparison.markdown(rows);
        System.out.print(table);
        System.err.printf("compared in %d s%n", Duration.ofNanos(System.nanoTime() - start).toSeconds());
        if (out != null) {
            try {
                Files.writeString(out, table);
            } catch (IOException e) {
                throw new UncheckedIOException("--out " + out + ": " + e.getMessage(), e);
            }
        }
        return 0;
    }
}
