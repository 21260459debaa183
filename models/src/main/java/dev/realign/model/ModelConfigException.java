package dev.realign.model;

/** A config.json that Realign cannot serve faithfully: the message names the file and the field. */
public class ModelConfigException extends RuntimeException {
    public ModelConfigException(String message) {
        super(message);
    }

    public ModelConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
