package dev.realign.model.matvec;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed team of platform threads, one per core, that splits one product's output features. The calling
 * thread is a member: it runs the first share itself, so a team of N has N - 1 daemon helpers.
 *
 * <p>Why not an ExecutorService: a decode step makes ~170 products of 10-400 us each, so the hand-off must
 * cost about a microsecond. Helpers spin on a volatile generation for {@link #SPIN_NANOS} after their last
 * share (the next product usually arrives within that) and only then park; the caller unparks them on
 * every product (cheap when they are not parked). One product runs at a time: a second caller that finds
 * the team busy computes its product alone rather than wait.
 */
public final class KernelThreads {
    /** How long an idle helper spins before it parks: covers the gap between two products of one step. */
    static final long SPIN_NANOS = 200_000;
    private static final KernelThreads SHARED = new KernelThreads(
            Integer.getInteger("realign.kernel.threads", Runtime.getRuntime().availableProcessors()));

    private final int size;
    private final Thread[] helpers;
    private final ReentrantLock busy = new ReentrantLock();
    private final AtomicInteger pending = new AtomicInteger();
    private volatile long generation;
    // The current product; written by the caller before it publishes a new generation, read by helpers after.
    private WeightView weight;
    private float[] x;
    private float[] y;
    private int rows;
    private volatile Throwable failure;

    KernelThreads(int size) {
        this.size = Math.max(1, size);
        this.helpers = new Thread[this.size - 1];
        for (int i = 0; i < helpers.length; i++) {
            int share = i + 1;
            helpers[i] = Thread.ofPlatform().daemon().name("realign-matvec-" + share).start(() -> work(share));
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
    public void multiply(WeightView w, float[] x, int rows, float[] y) {
        if (helpers.length == 0 || !busy.tryLock()) {
            MatVec.multiply(w, x, rows, y, 0, w.outFeatures());
            return;
        }
        try {
            this.weight = w;
            this.x = x;
            this.y = y;
            this.rows = rows;
            this.failure = null;
            pending.set(helpers.length);
            generation++; // volatile write publishes the fields above
            for (Thread helper : helpers) {
                LockSupport.unpark(helper);
            }
            runShare(0, w, x, rows, y);
            while (pending.get() != 0) {
                Thread.onSpinWait();
            }
            Throwable t = failure;
            if (t != null) {
                throw new IllegalStateException("decode kernel helper failed", t);
            }
        } finally {
            this.weight = null;
            this.x = null;
            this.y = null;
            busy.unlock();
        }
    }

    private void runShare(int share, WeightView w, float[] x, int rows, float[] y) {
        int out = w.outFeatures();
        // Shares are multiples of 4 features so the single-row loop keeps its four accumulators.
        int chunk = ((out + size - 1) / size + 3) & ~3;
        int from = Math.min(out, share * chunk);
        int to = Math.min(out, from + chunk);
        if (from < to) {
            MatVec.multiply(w, x, rows, y, from, to);
        }
    }

    private void work(int share) {
        long seen = 0;
        while (true) {
            long spinStart = System.nanoTime();
            long current;
            while ((current = generation) == seen) {
                if (System.nanoTime() - spinStart < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            seen = current;
            try {
                runShare(share, weight, x, rows, y);
            } catch (Throwable t) {
                failure = t;
            } finally {
                pending.decrementAndGet();
            }
        }
    }
}
