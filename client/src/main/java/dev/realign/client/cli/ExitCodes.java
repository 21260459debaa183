package dev.realign.client.cli;

import io.grpc.Status;

/** The process exit codes scripts can branch on. */
final class ExitCodes {

    static final int OK = 0;
    /** Anything else: an internal server error, a server that is not SERVING, a client bug. */
    static final int FAILURE = 1;
    /** The request itself is wrong (bad option, bad field, unknown adapter, bad key): retrying won't help. */
    static final int BAD_REQUEST = 2;
    /** The server is unreachable, overloaded or too slow: the same command may succeed later. */
    static final int RETRYABLE = 3;
    /** The user stopped the command (Ctrl-C): 128 + SIGINT, what shells report and the JVM exits with. */
    static final int INTERRUPTED = 130;

    private ExitCodes() {
    }

    static int forStatus(Status.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED -> BAD_REQUEST;
            case UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED -> RETRYABLE;
            default -> FAILURE;
        };
    }
}
