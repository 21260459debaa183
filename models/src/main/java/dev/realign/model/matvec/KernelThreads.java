package dev.realign.model.matvec;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed team of platform threads, one per core, that splits one product's output features. The calling
 * thread is a member, so a team of N has N - 1 daemon helpers.
 *
 * <p>Why not an ExecutorService: a decode step makes ~170 products of 10-400 us each, so the hand-off must
 * cost about a microsecond. Helpers spin on a volatile job for {@link #SPIN_NANOS} after their last one
 * (the next product usually arrives within that) and only then park; the caller unparks them on every
 * product (cheap when they are not parked).
 *
 * <p>Why chunks claimed from a counter rather than one fixed share per thread: this machine is shared, and
 * a helper that the OS has descheduled would make the caller wait for its whole share. Here the caller
 * takes the chunks no helper has claimed and waits only for chunks already in progress.
 *
 * <p>One product runs at a time: a second caller that finds the team busy computes its product alone.
 */
public final class KernelThreads {
    /**
     * How long an idle helper spins before it parks: long enough to catch back-to-back products (q, k, v;
     * gate, up), short enough not to hold a core while libtorch's own ops run between products (its
     * OpenMP threads would wait for ours). {@code -Drealign.kernel.spinMicros}.
     */
    static final long SPIN_NANOS = Long.getLong("realign.kernel.spinMicros", 30) * 1000;
    /** Chunks per member and product: enough for the caller to pick up a late helper's part. */
    private static final int CHUNKS_PER_MEMBER = 8;
    private static final KernelThreads SHARED = new KernelThreads(
            Integer.getInteger("realign.kernel.threads", Runtime.getRuntime().availableProcessors()));

    /** One product: immutable but for its counters, so a helper that wakes late never mixes up jobs. */
    private record Job(WeightView weight, float[] x, int rows, float[] y, int chunk, int chunks,
                       AtomicInteger next, AtomicInteger done, AtomicReference<Throwable> failure) {
        /** Runs unclaimed chunks until none is left; a failure is kept for the caller, never lost. */
        void help() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                int from = c * chunk;
                try {
                    MatVec.multiply(weight, x, rows, y, from, Math.min(weight.outFeatures(), from + chunk));
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    private final int size;
    private final Thread[] helpers;
    private final ReentrantLock busy = new ReentrantLock();
    private volatile Job current;

    KernelThreads(int size) {
        this.size = Math.max(1, size);
        this.helpers = new Thread[this.size - 1];
        for (int i = 0; i < helpers.length; i++) {
            helpers[i] = Thread.ofPlatform().daemon().name("realign-matvec-" + (i + 1)).start(this::work);
        }
    }

    /** The process-wide team, sized by {@code -Drealign.kernel.threads} (default: available processors). */
    public static KernelThreads shared() {
        return SHARED;
    }

    public int size() {
        return size;
    }

    /** y = x W^T, x (rows, in), y (rows, out), split by output features over the team. */
    public void multiply(WeightView w, float[] input, int rows, float[] y) {
        float[] x = MatVec.input(w, input);
        int out = w.outFeatures();
        if (helpers.length == 0 || out < 8 || !busy.tryLock()) {
            MatVec.multiply(w, x, rows, y, 0, out);
            return;
        }
        try {
            // Multiples of 4 features, so the single-row loop keeps its four accumulators.
            int chunk = Math.max(4, ((out + size * CHUNKS_PER_MEMBER - 1) / (size * CHUNKS_PER_MEMBER) + 3) & ~3);
            int chunks = (out + chunk - 1) / chunk;
            Job job = new Job(w, x, rows, y, chunk, chunks, new AtomicInteger(), new AtomicInteger(),
                    new AtomicReference<>());
            current = job;
            for (Thread helper : helpers) {
                LockSupport.unpark(helper);
            }
            job.help();
            while (job.done.get() < chunks) { // only chunks a helper has claimed and is running
                Thread.onSpinWait();
            }
            current = null; // let the arrays go
            if (job.failure.get() != null) {
                throw new IllegalStateException("decode kernel failed", job.failure.get());
            }
        } finally {
            busy.unlock();
        }
    }

    private void work() {
        Job seen = null;
        while (true) {
            long spinStart = System.nanoTime();
            Job job;
            while ((job = current) == null || job == seen) {
                if (System.nanoTime() - spinStart < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            seen = job;
            job.help();
        }
    }
}
