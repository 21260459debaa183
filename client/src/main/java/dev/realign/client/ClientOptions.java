package dev.realign.client;

import java.time.Duration;

/**
 * How a {@link RealignClient} authenticates and bounds its calls.
 *
 * @param apiKey   sent as {@code authorization: Bearer <key>} on every call; {@code null} sends no header,
 *                 which a server in development mode (no tenants configured) accepts
 * @param deadline applied afresh to each call (a stream's deadline covers the whole stream); {@code null}
 *                 means calls wait as long as the server takes
 */
public record ClientOptions(String apiKey, Duration deadline) {

    public ClientOptions {
        if (apiKey != null && (apiKey.isBlank() || apiKey.chars().anyMatch(c -> c < 0x20 || c == 0x7f))) {
            // Metadata values must be printable ASCII; a stray newline from a key file would otherwise
            // fail every call with an opaque transport error.
            throw new IllegalArgumentException("api key must be non-blank printable text");
        }
        if (deadline != null && (deadline.isNegative() || deadline.isZero())) {
            throw new IllegalArgumentException("deadline must be positive, got " + deadline);
        }
    }

    /** No API key, no deadline. */
    public static ClientOptions defaults() {
        return new ClientOptions(null, null);
    }

    public ClientOptions withApiKey(String key) {
        return new ClientOptions(key, deadline);
    }

    public ClientOptions withDeadline(Duration callDeadline) {
        return new ClientOptions(apiKey, callDeadline);
    }
}
