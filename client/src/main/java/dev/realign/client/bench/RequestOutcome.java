package dev.realign.client.bench;

import io.grpc.Status;
import java.util.List;

/**
 * What one request did, in {@link System#nanoTime()} readings taken as the client saw them.
 *
 * @param startNanos       when the request was sent
 * @param tokenChunkNanos  arrival of each chunk that carried tokens, in order
 * @param endNanos         when the stream ended (completed or failed)
 * @param completionTokens new tokens received (the server's usage count when it sent one)
 * @param error            the failure's status code, or null when the stream completed
 */
public record RequestOutcome(long startNanos, List<Long> tokenChunkNanos, long endNanos, long completionTokens,
        Status.Code error) {

    public RequestOutcome {
        tokenChunkNanos = List.copyOf(tokenChunkNanos);
    }

    public boolean ok() {
        return error == null;
    }

    /** Time to first token, or -1 when no token arrived. */
    public long ttftNanos() {
        return tokenChunkNanos.isEmpty() ? -1 : tokenChunkNanos.getFirst() - startNanos;
    }
}
