package dev.realign.tokenize;

import java.util.Objects;

/** One message of a conversation, as a chat template sees it ({@code message['role']}, {@code message['content']}). */
public record ChatTurn(String role, String content) {
    public ChatTurn {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }
}
