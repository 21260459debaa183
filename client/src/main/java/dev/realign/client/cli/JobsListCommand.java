package dev.realign.client.cli;

import dev.realign.api.v1.JobInfo;
import dev.realign.client.RealignClient;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code realign jobs list}: the caller's queued and running jobs. */
@Command(name = "list", description = "Show your queued and running realignment jobs.")
final class JobsListCommand implements Callable<Integer> {

    private final CliContext context;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Mixin
    ConnectionOptions connection = new ConnectionOptions();

    JobsListCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        try (RealignClient client = context.connector().connect(connection.server(context),
                connection.clientOptions(context))) {
            var jobs = client.listJobs().getJobsList();
            var out = context.out();
            if (jobs.isEmpty()) {
                out.println("no jobs");
            }
            for (JobInfo j : jobs) {
                out.printf(Locale.ROOT, "%s  %-7s %s -> %s on %s  %s %.0f%%%n", j.getJobId(), j.getState(), j.getKind(),
                        j.getOutputAdapter(), j.getModel(), JobProgressBar.describe(j.getProgress()),
                        100 * j.getProgress().getFraction());
            }
            out.flush();
        }
        return ExitCodes.OK;
    }
}
