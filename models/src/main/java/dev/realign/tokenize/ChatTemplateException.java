package dev.realign.tokenize;

/**
 * A chat template that could not be rendered. {@link #raisedByTemplate()} tells a conversation the template
 * refuses (it called {@code raise_exception}, e.g. for roles out of order: the caller's fault) from a template
 * that is broken (the model's fault).
 */
public class ChatTemplateException extends TokenizerException {
    private final boolean raisedByTemplate;

    public ChatTemplateException(String message, boolean raisedByTemplate, Throwable cause) {
        super(message, cause);
        this.raisedByTemplate = raisedByTemplate;
    }

    public boolean raisedByTemplate() {
        return raisedByTemplate;
    }
}
