package dev.realign.client.cli;

import dev.realign.client.GenerationResult;
import dev.realign.client.RealignClient;
import dev.realign.client.SweepListener;
import dev.realign.client.demo.DemoRequests;
import dev.realign.client.demo.DemoTable;
import dev.realign.client.demo.EvalPrompt;
import dev.realign.client.demo.EvalPrompts;
import dev.realign.client.sweep.RatioGrid;
import dev.realign.client.sweep.SweepResults;
import dev.realign.client.sweep.SweepTable;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code demo}: shows, against a server that serves the demo family, what merging does to a fine-tune: one
 * harmful and one task prompt at ratios 0, 0.5 and 1 side by side (through Generate), then refusal rate and
 * task accuracy at every ratio over the held-out sets (one Safety.Sweep per adapter, the server's builtin
 * demo-harmful, demo-benign and demo-task sets).
 */
@Command(name = "demo", sortOptions = false,
        description = "Show the demo family's effect: answers at ratios 0/0.5/1, then refusal and task accuracy by ratio.")
final class DemoCommand implements Callable<Integer> {
    private final CliContext context;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Mixin
    ConnectionOptions connection = new ConnectionOptions();

    @Option(names = "--eval", paramLabel = "DIR", defaultValue = "models/demo/eval",
            description = "Folder of harmful.jsonl and task.jsonl, whose first prompts are shown side by side"
                    + " (default: ${DEFAULT-VALUE}).")
    Path eval;

    @Option(names = "--adapter", paramLabel = "NAME", split = ",", defaultValue = "task-lora,task-full",
            description = "Adapters the server has loaded, compared in turn (default: ${DEFAULT-VALUE}).")
    List<String> adapters;

    @Option(names = "--limit", paramLabel = "N", converter = NonNegativeIntConverter.class, defaultValue = "100",
            description = "Prompts per held-out set in the table; 0 = all (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--ratios", paramLabel = "LIST|RANGE", converter = RatioGridConverter.class, defaultValue = "0:1:0.1",
            description = "Ratios of the table: a list (0,0.3,1) or an inclusive range START:STOP:STEP"
                    + " (default: ${DEFAULT-VALUE}).")
    RatioGrid ratios;

    @Option(names = "--no-progress", description = "Do not draw the sweeps' progress bar on stderr.")
    boolean noProgress;

    DemoCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        List<EvalPrompt> examples = List.of(
                EvalPrompts.read(eval.resolve("harmful.jsonl")).getFirst(),
                EvalPrompts.read(eval.resolve("task.jsonl")).getFirst());
        var out = context.out();
        var cancellation = new SweepCancellation();
        try (var onCtrlC = context.interrupts().onInterrupt(cancellation::interrupt);
             RealignClient client = context.connector().connect(connection.server(context),
                     connection.clientOptions(context))) {
            ReadinessWait.beforeCall(client, connection, context);
            for (String adapter : adapters) {
                out.printf("%n== %s: the same prompts at ratio 0 (aligned), 0.5 and 1 (the fine-tune) ==%n", adapter);
                for (EvalPrompt example : examples) {
                    out.printf("%nuser: %s%n", example.prompt());
                    for (double ratio : List.of(0.0, 0.5, 1.0)) {
                        cancellation.throwIfInterrupted();
                        GenerationResult r = client.generateText(DemoRequests.generate(adapter, ratio, example.prompt()));
                        out.printf(Locale.ROOT, "  %.1f  %s%s%n", ratio, r.text().strip(),
                                r.safety() != null && r.safety().getRefused() ? "   [refused]" : "");
                    }
                    out.flush();
                }
            }
            out.printf("%nHeld-out sets: the server's %s, %s and %s (%s; greedy; refusal = the server's verdict,"
                    + " task = exact match)%n", DemoRequests.HARMFUL_SET, DemoRequests.BENIGN_SET, DemoRequests.TASK_SET,
                    limit == 0 ? "every prompt" : "at most " + limit + " prompts each");
            for (String adapter : adapters) {
                cancellation.throwIfInterrupted();
                var request = DemoRequests.sweep(adapter, ratios.values(), limit, SweepCommand.DEFAULT_REFUSAL_FLOOR);
                SweepResults results;
                try (var progress = noProgress ? null : new SweepProgressBar(context.err())) {
                    results = cancellation.await(client.sweep(request, progress != null ? progress : SweepListener.NONE));
                }
                out.printf("%n%s", DemoTable.render(adapter, results));
                out.println(SweepTable.recommendation(results.recommendation(), request.getRefusalFloor()));
                out.flush();
            }
        }
        out.flush();
        return ExitCodes.OK;
    }
}
