package dev.realign.client.cli;

import dev.realign.client.RealignClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code realign jobs cancel ID}: stops one of the caller's jobs; it registers nothing. */
@Command(name = "cancel", description = "Cancel one of your realignment jobs by id; it registers nothing.")
final class JobsCancelCommand implements Callable<Integer> {

    private final CliContext context;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Mixin
    ConnectionOptions connection = new ConnectionOptions();

    @Parameters(index = "0", paramLabel = "ID", description = "The job id (from 'jobs list' or the job's first line).")
    String jobId;

    JobsCancelCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        try (RealignClient client = context.connector().connect(connection.server(context),
                connection.clientOptions(context))) {
            boolean cancelled = client.cancelJob(jobId).getCancelled();
            context.out().println(cancelled ? "cancelling " + jobId : jobId + " was already being cancelled");
            context.out().flush();
        }
        return ExitCodes.OK;
    }
}
