package dev.realign.client.cli;

import dev.realign.client.RealignClient;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code realign health}: the server's grpc.health.v1 status, as text and as the exit code. */
@Command(name = "health", sortOptions = false,
        description = {
            "Print the server's health (SERVING, NOT_SERVING, ...).",
            "Exits 0 only when SERVING; 3 when the server cannot be reached."})
final class HealthCommand implements Callable<Integer> {

    private final CliContext context;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Mixin
    ConnectionOptions connection = new ConnectionOptions();

    HealthCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        try (RealignClient client = context.connector().connect(connection.server(context),
                connection.clientOptions(context))) {
            // With --wait-ready a server that never comes up still gets its last status printed below.
            boolean ready = connection.waitReady != null && client.awaitReady(connection.waitReady);
            ServingStatus status = ready ? ServingStatus.SERVING : client.checkHealth();
            context.out().println(status.name());
            context.out().flush();
            return status == ServingStatus.SERVING ? ExitCodes.OK : ExitCodes.FAILURE;
        }
    }
}
