package dev.realign.model.matvec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import dev.realign.bench.MemoryBandwidth;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The decode kernel against libtorch's product on the matrices of the benchmark shape (hidden 896,
 * intermediate 4864), cycled through 4 layers' worth (far larger than the 32 MiB L3) so every product
 * reads memory: GB/s of weight read for 1..8 input rows, F32 and F16, with one thread and the team.
 * Also measures the rejected way to widen F16 (scalar {@link Float#float16ToFloat} into a buffer).
 * The numbers pick {@link DecodeLinear#MAX_ROWS} (docs/benchmarks.md).
 *
 * <pre>./mvnw -B -o -pl models test -Pbenchmark -Dtest=KernelVsTorchBenchmark</pre>
 */
@Tag("benchmark")
class KernelVsTorchBenchmark {
    static final int HIDDEN = 896;
    static final int INTERMEDIATE = 4864;
    static final int LAYERS = 4;
    static final int[] ROWS = {1, 2, 4, 8, 16};

    @Test
    void kernelAgainstLibtorch() throws Exception {
        MemoryBandwidth.Result bandwidth = MemoryBandwidth.measure(1L << 30, 5);
        System.out.printf(Locale.ROOT, "load %s; read bandwidth %.1f GB/s; %d-lane fp32 vectors%n",
                load(), bandwidth.bestGBps(), MatVec.FLOATS.length());
        List<String> lines = new ArrayList<>();
        try (NDManager manager = NDManager.newBaseManager()) {
            for (DataType type : List.of(DataType.FLOAT32, DataType.FLOAT16)) {
                List<NDArray> matrices = matrices(manager, type);
                List<WeightView> views = matrices.stream().map(m -> WeightViews.of(m).orElseThrow()).toList();
                long bytes = views.stream().mapToLong(WeightView::bytes).sum();
                KernelThreads one = new KernelThreads(1);
                for (int rows : ROWS) {
                    double team = gbps(bytes, () -> {
                        for (WeightView w : views) {
                            run(KernelThreads.shared(), w, rows);
                        }
                    });
                    double single = gbps(bytes, () -> {
                        for (WeightView w : views) {
                            run(one, w, rows);
                        }
                    });
                    double torch = gbps(bytes, () -> {
                        try (NDManager step = manager.newSubManager()) {
                            for (NDArray m : matrices) {
                                NDArray x = step.randomNormal(new Shape(rows, m.getShape().get(1)));
                                NDArray xin = type == DataType.FLOAT32 ? x : x.toType(type, false);
                                NDArray y = Linear.linear(xin, m).singletonOrThrow();
                                y.toType(DataType.FLOAT32, false).getFloat(0, 0);
                            }
                        }
                    });
                    String line = String.format(Locale.ROOT, "%s rows %2d: kernel %d threads %5.1f GB/s, 1 thread %5.1f GB/s, libtorch %5.1f GB/s",
                            type, rows, KernelThreads.shared().size(), team, single, torch);
                    System.out.println(line);
                    lines.add(line);
                }
                if (type == DataType.FLOAT16) {
                    double scalar = gbps(bytes, () -> {
                        for (WeightView w : views) {
                            scalarWidening(w);
                        }
                    });
                    String line = String.format(Locale.ROOT, "F16 rows  1: scalar Float.float16ToFloat widening, 1 thread %5.1f GB/s", scalar);
                    System.out.println(line);
                    lines.add(line);
                }
                matrices.forEach(NDArray::close);
            }
        }
        System.out.println(String.join("\n", lines));
    }

    private static final float[] X = new float[16 * INTERMEDIATE];
    private static final float[] Y = new float[16 * INTERMEDIATE];
    private static final float[] SCRATCH = new float[4 * INTERMEDIATE];

    static {
        Arrays.fill(X, 0.01f);
    }

    private static void run(KernelThreads team, WeightView w, int rows) {
        team.multiply(w, X, rows, Y);
    }

    /** The alternative to the vector widening: 4 rows widened by Float.float16ToFloat, then fp32 FMAs. */
    private static void scalarWidening(WeightView w) {
        MemorySegment data = w.data();
        int in = w.inFeatures();
        int end = MatVec.FLOATS.loopBound(in);
        for (int o = 0; o + 4 <= w.outFeatures(); o += 4) {
            long base = (long) o * in * 2;
            for (int j = 0; j < 4 * in; j++) {
                SCRATCH[j] = Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2L * j));
            }
            for (int k = 0; k < 4; k++) {
                FloatVector a = FloatVector.zero(MatVec.FLOATS);
                for (int i = 0; i < end; i += MatVec.FLOATS.length()) {
                    a = FloatVector.fromArray(MatVec.FLOATS, SCRATCH, k * in + i).fma(FloatVector.fromArray(MatVec.FLOATS, X, i), a);
                }
                Y[o + k] = a.reduceLanes(VectorOperators.ADD);
            }
        }
    }

    private static List<NDArray> matrices(NDManager manager, DataType type) {
        List<NDArray> list = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(1);
        long[][] shapes = {{HIDDEN, HIDDEN}, {128, HIDDEN}, {128, HIDDEN}, {HIDDEN, HIDDEN},
                {INTERMEDIATE, HIDDEN}, {INTERMEDIATE, HIDDEN}, {HIDDEN, INTERMEDIATE}};
        for (int layer = 0; layer < LAYERS; layer++) {
            for (long[] s : shapes) {
                float[] values = new float[(int) (s[0] * s[1])];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (random.nextDouble() - 0.5) * 0.1f;
                }
                NDArray m = manager.create(values, new Shape(s)).toType(type, false);
                list.add(m);
            }
        }
        return list;
    }

    /** Median GB/s of 15 passes over all matrices, after 5 warm-up passes. */
    private static double gbps(long bytes, Runnable pass) {
        for (int i = 0; i < 5; i++) {
            pass.run();
        }
        double[] rates = new double[15];
        for (int i = 0; i < rates.length; i++) {
            long start = System.nanoTime();
            pass.run();
            rates[i] = bytes / ((System.nanoTime() - start) / 1e9) / 1e9;
        }
        Arrays.sort(rates);
        return rates[rates.length / 2];
    }

    static String load() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}
