package dev.realign.tokenize;

/** A tokenizer or chat-template file that is missing or cannot be used; the message names the file. */
public class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
