package dev.realign.client.cli;

import dev.realign.api.v1.MergeMethod;
import dev.realign.client.ClientOptions;
import dev.realign.client.RealignClient;
import dev.realign.client.bench.BenchPlan;
import dev.realign.client.bench.BenchReport;
import dev.realign.client.bench.LoadGenerator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code realign bench}: a closed-loop load run against a server, reported as one table or JSON object. */
@Command(name = "bench", sortOptions = false,
        description = {
            "Load a server with N concurrent streams and report throughput (completion tokens/s), requests/s,",
            "time to first token and per-token latency (p50/p99), and failed requests by gRPC status.",
            "Requests cycle round-robin through the prompts and through every (adapter, ratio) pair.",
            "Exits 0 when any request completed, 1 when none did."})
final class BenchCommand implements Callable<Integer> {

    /** Without --requests or --duration a run still ends: this many requests. */
    static final int DEFAULT_REQUESTS = 100;
    /** Without --deadline a stuck stream still ends: each request gets this long. */
    static final Duration DEFAULT_REQUEST_DEADLINE = Duration.ofMinutes(2);

    private final CliContext context;

    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Mixin
    ConnectionOptions connection = new ConnectionOptions();

    @Option(names = "--concurrency", paramLabel = "N", defaultValue = "1",
            description = "Streams in flight at once (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--requests", paramLabel = "R", converter = NonNegativeIntConverter.class,
            description = "Requests to send in all (default: " + DEFAULT_REQUESTS + " unless --duration is given).")
    Integer requests;

    @Option(names = "--duration", paramLabel = "SECONDS", converter = SecondsConverter.class,
            description = "Start no request after this long; requests in flight finish. With --requests, the"
                    + " first bound reached ends the run.")
    Duration duration;

    @Option(names = "--warmup", paramLabel = "N", converter = NonNegativeIntConverter.class, defaultValue = "0",
            description = "Requests to run first and leave out of the report (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "A prompt (repeatable).")
    List<String> prompts;

    @Option(names = "--prompt-file", paramLabel = "FILE",
            description = "Prompts, one per line (blank lines skipped), added to any --prompt.")
    Path promptFile;

    @Option(names = "--max-tokens", paramLabel = "N", converter = NonNegativeIntConverter.class, defaultValue = "32",
            description = "New tokens per request (default: ${DEFAULT-VALUE}; 0 = the server's default).")
    int maxTokens;

    @Option(names = "--temperature", paramLabel = "T",
            description = "Sampling temperature (default: the server's, greedy).")
    Double temperature;

    @Option(names = "--model", paramLabel = "ID", description = "Base model id (default: the server's default model).")
    String model;

    @Option(names = "--adapter", paramLabel = "NAME",
            description = "An adapter to merge (repeatable); none = the base model.")
    List<String> adapters;

    @Option(names = "--ratios", paramLabel = "R[,R...]", split = ",",
            description = "Merge ratios (the adapter's weight) to cycle through (default: 1).")
    List<Double> ratios;

    @Option(names = "--method", paramLabel = "METHOD", converter = MergeMethodConverter.class,
            description = "Merge method (default: the server's, linear).")
    MergeMethod method;

    @Option(names = "--json", description = "Print the report as one JSON object, for scripts.")
    boolean json;

    BenchCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        BenchPlan plan = plan();
        var base = connection.clientOptions(context);
        var options = base.deadline() != null ? base : new ClientOptions(base.apiKey(), DEFAULT_REQUEST_DEADLINE);
        BenchReport report;
        try (RealignClient client = context.connector().connect(connection.server(context), options)) {
            ReadinessWait.beforeCall(client, connection, context);
            report = new LoadGenerator(client).run(plan);
        }
        if (json) {
            context.out().println(report.toJson());
        } else {
            context.out().print(report.toText());
        }
        context.out().flush();
        return report.completed() > 0 ? ExitCodes.OK : ExitCodes.FAILURE;
    }

    /** The plan the options describe; its own checks become usage errors (exit 2, one line). */
    BenchPlan plan() {
        int count = requests != null ? requests : duration == null ? DEFAULT_REQUESTS : 0;
        if (requests != null && requests == 0) {
            throw usage("--requests must be at least 1");
        }
        try {
            return new BenchPlan(concurrency, count, duration, warmup, allPrompts(), maxTokens, temperature, model,
                    adapters == null ? List.of() : adapters, ratios == null ? List.of() : ratios, method);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    private List<String> allPrompts() {
        var all = new ArrayList<String>();
        if (prompts != null) {
            all.addAll(prompts);
        }
        if (promptFile != null) {
            try {
                Files.readAllLines(promptFile, StandardCharsets.UTF_8).stream()
                        .filter(line -> !line.isBlank())
                        .forEach(all::add);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read --prompt-file " + promptFile + ": " + e.getMessage(), e);
            }
            if (all.isEmpty()) {
                throw usage("--prompt-file " + promptFile + " has no prompts");
            }
        }
        if (all.isEmpty()) {
            throw usage("missing prompts: give --prompt TEXT or --prompt-file FILE");
        }
        return all;
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
