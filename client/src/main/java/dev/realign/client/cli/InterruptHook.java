package dev.realign.client.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * What a long command does when the user presses Ctrl-C (or the process gets SIGTERM). Passed in through
 * {@link CliContext} so tests can press "Ctrl-C" without signalling the test JVM.
 */
@FunctionalInterface
interface InterruptHook {

    /**
     * Runs {@code action} if the process is interrupted while the registration is open. Close the
     * registration when the work is over; an interrupted process waits for that close (briefly), so the
     * command can tell the server to stop and say what happened before the JVM exits.
     */
    Registration onInterrupt(Runnable action);

    /** Ends the registration; never throws. */
    interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    /** The real thing: a JVM shutdown hook, which SIGINT and SIGTERM run. */
    InterruptHook SHUTDOWN_HOOK = ShutdownHookRegistration::new;

    /** A shutdown hook that runs the action, then holds the exit until the command has finished reporting. */
    final class ShutdownHookRegistration implements Registration {

        /** Long enough to send a cancellation and print a line; short enough that Ctrl-C still feels prompt. */
        private static final Duration FINISH_GRACE = Duration.ofSeconds(5);

        private final CountDownLatch finished = new CountDownLatch(1);
        private final Thread hook;

        ShutdownHookRegistration(Runnable action) {
            hook = new Thread(() -> {
                action.run();
                try {
                    finished.await(FINISH_GRACE.toNanos(), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "realign-interrupt");
            Runtime.getRuntime().addShutdownHook(hook);
        }

        @Override
        public void close() {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running (Ctrl-C was pressed): the count-down above lets it, and the JVM, finish.
            }
        }
    }
}
