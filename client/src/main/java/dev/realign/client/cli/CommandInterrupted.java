package dev.realign.client.cli;

/** The user stopped a command with Ctrl-C; {@link ErrorReporter} prints its message and exits 130. */
final class CommandInterrupted extends RuntimeException {

    CommandInterrupted(String message) {
        super(message);
    }
}
