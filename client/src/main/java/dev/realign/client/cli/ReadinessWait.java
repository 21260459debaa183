package dev.realign.client.cli;

import dev.realign.client.RealignClient;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** {@code --wait-ready}: poll health before the real call, shared by the commands that take the option. */
final class ReadinessWait {

    private ReadinessWait() {
    }

    /**
     * Returns once the server is SERVING, or throws UNAVAILABLE so the CLI reports it like any unreachable
     * server (exit code 3, worth retrying). Does nothing when the option was not given.
     */
    static void beforeCall(RealignClient client, ConnectionOptions connection, CliContext context) {
        if (connection.waitReady == null) {
            return;
        }
        if (!client.awaitReady(connection.waitReady)) {
            throw new StatusRuntimeException(Status.UNAVAILABLE.withDescription(
                    "server at " + connection.server(context) + " was not SERVING within "
                            + seconds(connection.waitReady.toMillis()) + " s"));
        }
    }

    private static String seconds(long millis) {
        return millis % 1000 == 0 ? Long.toString(millis / 1000) : Double.toString(millis / 1000.0);
    }
}
