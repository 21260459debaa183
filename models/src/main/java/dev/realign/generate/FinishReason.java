package dev.realign.generate;

/** Why a sequence ended. */
public enum FinishReason {
    /** An end-of-sequence token or a stop string. */
    STOP,
    /** max_tokens or the end of the model's context. */
    LENGTH
}
