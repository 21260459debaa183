package dev.realign.client.cli;

import dev.realign.client.ClientOptions;
import dev.realign.client.RealignClient;

/**
 * How the CLI turns {@code --server} into a client. Users always get {@link RealignClient#connect}; tests
 * substitute an in-process channel here, so the command line itself carries no test-only options.
 */
@FunctionalInterface
interface ClientConnector {

    ClientConnector PLAINTEXT = RealignClient::connect;

    RealignClient connect(String server, ClientOptions options);
}
