package dev.realign.client.cli;

import java.io.PrintWriter;
import java.util.Map;

/**
 * What the commands get from the process around them: output streams, the way to reach a server, the
 * environment (passed in rather than read from System.getenv so tests see a fixed one), and what Ctrl-C
 * does (a shutdown hook, or a test's button).
 */
record CliContext(PrintWriter out, PrintWriter err, ClientConnector connector, Map<String, String> env,
        InterruptHook interrupts) {

    /** An environment variable's value, or {@code null} when it is unset or empty. */
    String envValue(String name) {
        var value = env.get(name);
        return value == null || value.isEmpty() ? null : value;
    }
}
