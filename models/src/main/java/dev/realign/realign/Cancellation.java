package dev.realign.realign;

import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * How a long realignment job learns it should stop: a flag the job runner raises, or the thread's interrupt.
 * Jobs call {@link #check} between units of work (a batch, a layer), never in the middle of an edit.
 */
@FunctionalInterface
public interface Cancellation {
    Cancellation NEVER = () -> false;

    boolean requested();

    static Cancellation of(BooleanSupplier flag) {
        return flag::getAsBoolean;
    }

    /** Throws {@link CancellationException} when cancellation was requested or the thread was interrupted. */
    default void check() {
        if (requested() || Thread.currentThread().isInterrupted()) {
            throw new CancellationException("realignment job cancelled");
        }
    }
}
