package dev.realign.client.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code realign} commands that talk to a running server. Exit codes: 0 success, 1 failure, 2 a bad request
 * (usage error, INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED), 3 worth retrying
 * (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED), 130 stopped by Ctrl-C.
 */
@Command(name = "realign",
        description = "Talk to a Realign server.",
        footer = {"", "Environment: REALIGN_SERVER (host:port), REALIGN_API_KEY.",
            "Exit codes: 0 ok, 1 failure, 2 bad request or usage, 3 unavailable/overloaded/timed out (retry),",
            "130 interrupted (Ctrl-C)."})
public final class ClientMain {

    /** Keeps Netty's debug logging (it logs through SLF4J when present) out of stdout, which is the output. */
    private static final String LOGBACK_CONFIG = "realign-client-logback.xml";

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    public static void main(String[] args) {
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", LOGBACK_CONFIG);
        }
        System.exit(run(System.out, System.err, args));
    }

    /** Runs one command against a real server and returns its exit code. */
    public static int run(PrintStream out, PrintStream err, String... args) {
        return run(out, err, ClientConnector.PLAINTEXT, System.getenv(), InterruptHook.SHUTDOWN_HOOK, args);
    }

    static int run(PrintStream out, PrintStream err, ClientConnector connector, Map<String, String> env,
            String... args) {
        return run(out, err, connector, env, InterruptHook.SHUTDOWN_HOOK, args);
    }

    static int run(PrintStream out, PrintStream err, ClientConnector connector, Map<String, String> env,
            InterruptHook interrupts, String... args) {
        var context = new CliContext(new PrintWriter(out, false, out.charset()),
                new PrintWriter(err, false, err.charset()), connector, env, interrupts);
        try {
            return commandLine(context).execute(args);
        } finally {
            context.out().flush();
            context.err().flush();
        }
    }

    static CommandLine commandLine(CliContext context) {
        var reporter = new ErrorReporter();
        // Settings apply to the subcommands present when they are set, so subcommands are added first.
        return new CommandLine(new ClientMain())
                .addSubcommand(new GenerateCommand(context))
                .addSubcommand(new HealthCommand(context))
                .addSubcommand(new BenchCommand(context))
                .addSubcommand(new SweepCommand(context))
                .addSubcommand(new DemoCommand(context))
                .addSubcommand(new UploadCommand(context))
                .addSubcommand(new CommandLine(new JobsCommand())
                        .addSubcommand(new IrrJobCommand(context))
                        .addSubcommand(new JobsListCommand(context))
                        .addSubcommand(new JobsCancelCommand(context)))
                .setOut(context.out())
                .setErr(context.err())
                .setParameterExceptionHandler(reporter)
                .setExecutionExceptionHandler(reporter);
    }
}
