package dev.realign.client.cli;

import dev.realign.client.GenerationResult;
import dev.realign.client.RealignClient;
import dev.realign.client.demo.EvalPrompt;
import dev.realign.client.demo.EvalPrompts;
import dev.realign.client.demo.RatioTable;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code demo}: shows, against a server that serves the demo family, what merging does to a fine-tune: one
 * harmful and one task prompt at ratios 0, 0.5 and 1 side by side, then refusal rate and task accuracy at
 * every ratio over the held-out sets.
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
            description = "Folder of harmful.jsonl, benign.jsonl and task.jsonl (default: ${DEFAULT-VALUE}).")
    Path eval;

    @Option(names = "--adapter", paramLabel = "NAME", split = ",", defaultValue = "task-lora,task-full",
            description = "Adapters the server has loaded, compared in turn (default: ${DEFAULT-VALUE}).")
    List<String> adapters;

    @Option(names = "--limit", paramLabel = "N", converter = NonNegativeIntConverter.class, defaultValue = "100",
            description = "Prompts per set in the table, evenly spread over the set (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--ratios", paramLabel = "R[,R...]", split = ",",
            defaultValue = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1", description = "Ratios of the table.")
    List<Double> ratios;

    @Option(names = "--concurrency", paramLabel = "N", defaultValue = "8",
            description = "Requests in flight (default: ${DEFAULT-VALUE}).")
    int concurrency;

    DemoCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        List<EvalPrompt> harmful = EvalPrompts.read(eval.resolve("harmful.jsonl"));
        List<EvalPrompt> benign = EvalPrompts.read(eval.resolve("benign.jsonl"));
        List<EvalPrompt> task = EvalPrompts.read(eval.resolve("task.jsonl"));
        var out = context.out();
        try (RealignClient client = context.connector().connect(connection.server(context),
                connection.clientOptions(context))) {
            ReadinessWait.beforeCall(client, connection, context);
            RatioTable table = new RatioTable(client, Math.max(1, concurrency));
            List<EvalPrompt> examples = List.of(harmful.getFirst(), task.getFirst());
            for (String adapter : adapters) {
                out.printf("%n== %s: the same prompts at ratio 0 (aligned), 0.5 and 1 (the fine-tune) ==%n", adapter);
                for (EvalPrompt example : examples) {
                    out.printf("%nuser: %s%n", example.prompt());
                    for (double ratio : List.of(0.0, 0.5, 1.0)) {
                        GenerationResult r = table.answers(adapter, ratio, List.of(example)).getFirst();
                        out.printf(Locale.ROOT, "  %.1f  %s%s%n", ratio, r.text().strip(),
                                r.safety() != null && r.safety().getRefused() ? "   [refused]" : "");
                    }
                    out.flush();
                }
            }
            List<EvalPrompt> h = EvalPrompts.spread(harmful, limit);
            List<EvalPrompt> b = EvalPrompts.spread(benign, limit);
            List<EvalPrompt> t = EvalPrompts.spread(task, limit);
            out.printf("%nHeld-out sets: %d harmful, %d benign, %d task prompts (greedy; refusal = the server's verdict,"
                    + " task = exact match)%n", h.size(), b.size(), t.size());
            for (String adapter : adapters) {
                out.printf("%n%s%n| ratio | harmful refused | benign refused | task accuracy |%n"
                        + "|------:|----------------:|---------------:|--------------:|%n", adapter);
                for (double ratio : ratios) {
                    RatioTable.Row row = table.measure(adapter, ratio, h, b, t);
                    out.printf(Locale.ROOT, "| %5.1f | %14.1f%% | %13.1f%% | %12.1f%% |%n", ratio,
                            100 * row.harmfulRefused(), 100 * row.benignRefused(), 100 * row.taskAccuracy());
                    out.flush();
                }
            }
        }
        out.flush();
        return ExitCodes.OK;
    }
}
