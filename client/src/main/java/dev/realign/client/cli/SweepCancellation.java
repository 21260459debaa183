package dev.realign.client.cli;

import dev.realign.client.SweepHandle;
import dev.realign.client.sweep.SweepResults;
import io.grpc.StatusRuntimeException;

/**
 * Connects Ctrl-C to the sweep running at that moment: {@link #interrupt} (from the {@link InterruptHook})
 * cancels it, so the server stops generating at once, and {@link #await} then reports an interruption
 * rather than the CANCELLED status that the cancellation produced.
 */
final class SweepCancellation {

    private volatile boolean interrupted;
    private SweepHandle running;

    /** Called on Ctrl-C, from the shutdown hook's thread. */
    synchronized void interrupt() {
        interrupted = true;
        if (running != null) {
            running.cancel("interrupted by the user (Ctrl-C)");
        }
    }

    /**
     * Waits for {@code sweep} to end; cancels it if Ctrl-C came before or comes during the wait.
     *
     * @throws CommandInterrupted     when Ctrl-C stopped it
     * @throws StatusRuntimeException as the server or the deadline ended it otherwise
     */
    SweepResults await(SweepHandle sweep) {
        synchronized (this) {
            running = sweep;
            if (interrupted) {
                sweep.cancel("interrupted by the user (Ctrl-C)");
            }
        }
        try {
            return sweep.await();
        } catch (StatusRuntimeException e) {
            if (interrupted) {
                throw new CommandInterrupted("interrupted: the sweep was cancelled on the server");
            }
            throw e;
        } finally {
            synchronized (this) {
                running = null;
            }
        }
    }

    /** For the steps between sweeps: stop before starting more work once Ctrl-C was pressed. */
    void throwIfInterrupted() {
        if (interrupted) {
            throw new CommandInterrupted("interrupted");
        }
    }
}
