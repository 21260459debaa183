package dev.realign.client.cli;

import dev.realign.client.ClientOptions;
import java.time.Duration;
import picocli.CommandLine.Option;

/** The options every command that talks to a server shares (a picocli mixin). */
final class ConnectionOptions {

    static final String DEFAULT_SERVER = "localhost:50051";
    static final String SERVER_ENV = "REALIGN_SERVER";
    static final String API_KEY_ENV = "REALIGN_API_KEY";

    @Option(names = "--server", paramLabel = "HOST:PORT", converter = ServerAddressConverter.class,
            description = "Server address, plaintext (default: $" + SERVER_ENV + ", else " + DEFAULT_SERVER + ").")
    String server;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "API key, sent as a bearer token (default: $" + API_KEY_ENV + "; prefer the variable,"
                    + " since arguments show in process lists).")
    String apiKey;

    @Option(names = "--deadline", paramLabel = "SECONDS", converter = SecondsConverter.class,
            description = "Fail a call (a whole stream) that takes longer than this.")
    Duration deadline;

    @Option(names = "--wait-ready", paramLabel = "SECONDS", converter = SecondsConverter.class,
            description = "First wait up to this long for the server's health to be SERVING"
                    + " (useful right after starting a server).")
    Duration waitReady;

    String server(CliContext context) {
        if (server != null) {
            return server;
        }
        var fromEnv = context.envValue(SERVER_ENV);
        return fromEnv != null ? fromEnv : DEFAULT_SERVER;
    }

    ClientOptions clientOptions(CliContext context) {
        return new ClientOptions(apiKey != null ? apiKey : context.envValue(API_KEY_ENV), deadline);
    }
}
