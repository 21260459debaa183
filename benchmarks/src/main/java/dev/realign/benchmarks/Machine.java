package dev.realign.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import dev.realign.bench.MemoryBandwidth;
import java.util.Arrays;
import java.util.Locale;

/**
 * The physical bounds the benchmarks print beside their numbers, measured in the benchmark's own JVM
 * right before it allocates anything large: the machine's read bandwidth swings between runs (38-69 GB/s
 * have been seen), so a bound from another run would make the percentages meaningless.
 */
final class Machine {
    private Machine() {}

    /** Read bandwidth over 1 GiB (the better of two Java threads and libtorch's sum, median of 5 passes). */
    static MemoryBandwidth.Result bandwidth() {
        try {
            return MemoryBandwidth.measure(1L << 30, 5);
        } catch (Exception e) {
            throw new IllegalStateException("measuring the memory bandwidth", e);
        }
    }

    /**
     * libtorch's fp32 matrix-product rate in GFLOP/s for {@code rows} input rows against a (out, in) matrix,
     * the median of 5 products after one warm-up: the compute bound of a prefill, which is made of exactly
     * such products.
     */
    static double gemmGflops(int rows, int in, int out) {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray x = manager.randomNormal(new Shape(rows, in), DataType.FLOAT32);
            NDArray w = manager.randomNormal(new Shape(out, in), DataType.FLOAT32); // (out, in), as the model holds it
            double[] rates = new double[6];
            for (int i = 0; i < rates.length; i++) {
                try (NDManager step = manager.newSubManager()) {
                    long start = System.nanoTime();
                    NDArray y = Linear.linear(x, w).singletonOrThrow(); // the engine's own product, x W^T
                    y.attach(step);
                    y.getFloat(0, 0);
                    rates[i] = 2.0 * rows * in * out / (System.nanoTime() - start);
                }
            }
            double[] measured = Arrays.copyOfRange(rates, 1, rates.length);
            Arrays.sort(measured);
            return measured[measured.length / 2];
        }
    }

    static String describe(MemoryBandwidth.Result bandwidth) {
        return String.format(Locale.ROOT, "%d cores, java %s; read bandwidth %.1f GB/s (java %.1f, libtorch %.1f)",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                bandwidth.bestGBps(), bandwidth.javaGBps(), bandwidth.torchGBps());
    }
}
