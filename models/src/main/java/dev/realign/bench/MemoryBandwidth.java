package dev.realign.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures this machine's read bandwidth, the physical bound of decoding and merging (every weight byte
 * is read once per token). Two readers, each the median of several passes over a buffer far larger than
 * the caches: plain Java threads summing longs, and libtorch's own multi-threaded sum. The larger wins:
 * it is the most this process has been seen to read.
 */
public final class MemoryBandwidth {
    public record Result(double javaGBps, double torchGBps, int threads, long bytes) {
        public double bestGBps() {
            return Math.max(javaGBps, torchGBps);
        }
    }

    private MemoryBandwidth() {}

    public static Result measure(long bytes, int passes) throws Exception {
        int threads = Runtime.getRuntime().availableProcessors();
        return new Result(javaRead(bytes, passes, threads), torchRead(bytes, passes), threads, bytes);
    }

    private static double javaRead(long bytes, int passes, int threads) throws Exception {
        try (Arena arena = Arena.ofShared(); ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            MemorySegment buffer = arena.allocate(bytes, 64);
            buffer.fill((byte) 1); // touch every page so reads measure memory, not page faults
            long slice = bytes / threads / 8 * 8;
            double[] rates = new double[passes];
            long sink = 0;
            for (int p = 0; p < passes; p++) {
                long start = System.nanoTime();
                Future<?>[] parts = new Future<?>[threads];
                for (int t = 0; t < threads; t++) {
                    MemorySegment part = buffer.asSlice(t * slice, slice);
                    parts[t] = pool.submit(() -> sum(part));
                }
                for (Future<?> f : parts) {
                    sink += (Long) f.get();
                }
                rates[p] = slice * threads / ((System.nanoTime() - start) / 1e9) / 1e9;
            }
            if (sink == 42) {
                System.out.print(""); // keeps the sums observable so the JIT cannot drop them
            }
            return median(rates);
        }
    }

    private static long sum(MemorySegment part) {
        long total = 0;
        long n = part.byteSize();
        for (long off = 0; off < n; off += 32) {
            total += part.get(ValueLayout.JAVA_LONG_UNALIGNED, off) + part.get(ValueLayout.JAVA_LONG_UNALIGNED, off + 8)
                    + part.get(ValueLayout.JAVA_LONG_UNALIGNED, off + 16) + part.get(ValueLayout.JAVA_LONG_UNALIGNED, off + 24);
        }
        return total;
    }

    private static double torchRead(long bytes, int passes) {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray buffer = manager.ones(new Shape(bytes / 4), DataType.FLOAT32);
            double[] rates = new double[passes];
            for (int p = 0; p < passes; p++) {
                try (NDManager step = manager.newSubManager()) {
                    long start = System.nanoTime();
                    NDArray total = buffer.sum();
                    total.attach(step);
                    total.getFloat();
                    rates[p] = bytes / ((System.nanoTime() - start) / 1e9) / 1e9;
                }
            }
            return median(rates);
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
