package dev.realign.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import dev.realign.bench.MemoryBandwidth;
import java.util.Locale;

/**
 * The physical bounds the benchmarks print beside their numbers, measured in the benchmark's own JVM
 * right before it allocates anything large: the machine's read bandwidth swings between runs (38-69 GB/s
 * have been seen), so a bound from another run would make the percentages meaningless. The machine is
 * shared, and libtorch's OpenMP threads slow down by far more than the lost share of CPU when another
 * process takes a core (every parallel op waits for its descheduled thread), so each trial also records
 * the share of the CPUs other processes took while it ran: a number measured beside a busy neighbour is
 * not this engine's.
 *
 * @param others counts other processes' CPU time from the start of the trial
 */
record Machine(MemoryBandwidth.Result bandwidth, CpuShare others) {

    /** Read bandwidth over 1 GiB (the better of two Java threads and libtorch's sum, median of 5 passes). */
    static Machine measure() {
        CpuShare others = CpuShare.start();
        try {
            return new Machine(MemoryBandwidth.measure(1L << 30, 5), others);
        } catch (Exception e) {
            throw new IllegalStateException("measuring the memory bandwidth", e);
        }
    }

    double bestGBps() {
        return bandwidth.bestGBps();
    }

    /**
     * libtorch's fp32 matrix-product rate in GFLOP/s for {@code rows} input rows against an (out, in) matrix
     * through the engine's own {@code Linear.linear}: the best of 20 products after 3 warm-ups, since a
     * bound is the fastest this process has been seen to compute (and the median of one product of a few
     * milliseconds swings with every other process on the machine).
     */
    static double gemmGflops(int rows, int in, int out) {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray x = manager.randomNormal(new Shape(rows, in), DataType.FLOAT32);
            NDArray w = manager.randomNormal(new Shape(out, in), DataType.FLOAT32); // (out, in), as the model holds it
            double best = 0;
            for (int i = 0; i < 23; i++) {
                try (NDManager step = manager.newSubManager()) {
                    long start = System.nanoTime();
                    NDArray y = Linear.linear(x, w).singletonOrThrow();
                    y.attach(step);
                    y.getFloat(0, 0);
                    double rate = 2.0 * rows * in * out / (System.nanoTime() - start);
                    if (i >= 3) {
                        best = Math.max(best, rate);
                    }
                }
            }
            return best;
        }
    }

    /** One line on the machine and the conditions of the trial, for the end of a trial. */
    String describe() {
        return String.format(Locale.ROOT, "%d cores, java %s; read bandwidth %.1f GB/s (java %.1f, libtorch %.1f);"
                        + " other processes took %.0f%% of the CPUs during the trial",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                bandwidth.bestGBps(), bandwidth.javaGBps(), bandwidth.torchGBps(), 100 * others.othersSinceStart());
    }
}
