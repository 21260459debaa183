package dev.realign.client.cli;

import dev.realign.api.v1.JobResult;
import dev.realign.client.JobHandle;
import dev.realign.client.SweepHandle;
import dev.realign.client.sweep.SweepResults;
import io.grpc.StatusRuntimeException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Connects Ctrl-C to the sweep (or realignment job) running at that moment: {@link #interrupt} (from the {@link InterruptHook})
 * cancels it, so the server stops generating at once, and {@link #await} then reports an interruption
 * rather than the CANCELLED status that the cancellation produced.
 */
final class SweepCancellation {

    private volatile boolean interrupted;
    private Consumer<String> running;

    /** Called on Ctrl-C, from the shutdown hook's thread. */
    synchronized void interrupt() {
        interrupted = true;
        if (running != null) {
            running.accept("interrupted by the user (Ctrl-C)");
        }
    }

    /**
     * Waits for {@code sweep} to end; cancels it if Ctrl-C came before or comes during the wait.
     *
     * @throws CommandInterrupted     when Ctrl-C stopped it
     * @throws StatusRuntimeException as the server or the deadline ended it otherwise
     */
    SweepResults await(SweepHandle sweep) {
        return await(sweep::cancel, sweep::await, "the sweep");
    }

    /** The same for a realignment job: Ctrl-C cancels it on the server, which registers nothing. */
    JobResult await(JobHandle job) {
        return await(job::cancel, job::await, "the job");
    }

    private <T> T await(Consumer<String> cancel, Supplier<T> result, String what) {
        synchronized (this) {
            running = cancel;
            if (interrupted) {
                cancel.accept("interrupted by the user (Ctrl-C)");
            }
        }
        try {
            return result.get();
        } catch (StatusRuntimeException e) {
            if (interrupted) {
                throw new CommandInterrupted("interrupted: " + what + " was cancelled on the server");
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
