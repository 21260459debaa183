package dev.realign.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.realign.merge.methods.MergeMethod;
import dev.realign.merge.methods.MergeMethods;
import dev.realign.merge.methods.MergeParameters;
import dev.realign.merge.methods.TensorMerge;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.IterationParams;

/**
 * Merge throughput on a delta of 503M parameters: 24 fp32 tensors of (5120, 4096), each merged with one
 * adapter (weight 0.7) by the production {@link MergeMethod#merge}, tensor by tensor as
 * {@code ProfileMerger.materialize} does, every result freed before the next tensor.
 *
 * <p>Bytes per merge count what a merge must move at least: the base and the delta read, the result
 * written, 12 bytes a parameter (6.04 GB). Throughput is those bytes over the time, and its bound is the
 * read bandwidth measured in the same JVM. Two references move the same bytes in one libtorch pass and
 * show where a merge's time goes: {@code torch_add} ({@code base + delta} into a new tensor, as a merge's
 * result is new) and {@code torch_add_inplace} ({@code base += delta}: no new memory, so no page faults;
 * it changes this fork's base, which no merge method reads afterwards).
 *
 * <p>One merge takes from about a second to about a minute, so each iteration is a single merge
 * (single-shot mode) after one warm-up merge.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g") // the tensors are native; the heap holds only small buffers
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class MergeThroughputBenchmark {
    static final int TENSORS = 24;
    static final int ROWS = 5120;
    static final int COLS = 4096;
    static final double WEIGHT = 0.7;
    static final double DENSITY = 0.5;

    @Param({"linear", "ties", "dare_linear", "torch_add", "torch_add_inplace"})
    public String method;

    private Machine machine;
    private NDManager manager;
    private final List<NDArray> bases = new ArrayList<>();
    private final List<NDArray> deltas = new ArrayList<>();
    private MergeMethod merge;
    private double[] densities;
    private final IterationTimes times = new IterationTimes();

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.measure(); // before 4 GB of tensors take memory and caches
        manager = NDManager.newBaseManager();
        manager.getEngine().setRandomSeed(42);
        Shape shape = new Shape(ROWS, COLS);
        for (int i = 0; i < TENSORS; i++) {
            bases.add(manager.randomNormal(0, 0.02f, shape, DataType.FLOAT32));
            deltas.add(manager.randomNormal(0, 0.002f, shape, DataType.FLOAT32));
        }
        if (!method.startsWith("torch_add")) {
            merge = MergeMethods.byName(method);
            densities = new double[] {merge.usesDensity() ? DENSITY : 1};
        }
    }

    @Setup(Level.Iteration)
    public void iteration(IterationParams params) {
        times.begin(params);
    }

    @Benchmark
    public double mergeAll() {
        long start = System.nanoTime();
        double probe = 0;
        for (int i = 0; i < TENSORS; i++) {
            try (NDManager scope = manager.newSubManager()) {
                NDArray result;
                if (method.equals("torch_add_inplace")) {
                    result = bases.get(i).addi(deltas.get(i));
                } else if (merge == null) {
                    result = bases.get(i).add(deltas.get(i));
                    result.attach(scope);
                } else {
                    String name = "model.layers." + i + ".mlp.up_proj.weight"; // seeds DARE's mask, as in a model
                    result = merge.merge(new TensorMerge(name, bases.get(i), List.of(deltas.get(i)),
                            new double[] {WEIGHT}, densities), MergeParameters.DEFAULTS, scope);
                }
                probe += result.getFloat(0, 0);
            }
        }
        times.record(System.nanoTime() - start);
        return probe;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        double seconds = times.medianSeconds();
        double gbps = bytesPerMerge() / seconds / 1e9;
        // Writing back a line just read does not stall a core the way a read does, so the time bound is the
        // bytes that must be read (base and delta) over the read bandwidth; torch_add_inplace reaches it.
        double bound = bytesRead() / (machine.bestGBps() * 1e9);
        System.out.printf(Locale.ROOT, "%n[merge] %s%n[merge] %s: %.2f GB moved per merge (%.0fM parameters: %.2f GB"
                        + " read, %.2f GB written), median %.3f s -> %.2f GB/s = %.1f%% of the read bandwidth;"
                        + " time bound %.3f s (bytes read / read bandwidth) -> %.1f%% of bound%n", machine.describe(),
                method, bytesPerMerge() / 1e9, TENSORS * (double) ROWS * COLS / 1e6, bytesRead() / 1e9,
                (bytesPerMerge() - bytesRead()) / 1e9, seconds, gbps, 100 * gbps / machine.bestGBps(), bound,
                100 * bound / seconds);
        manager.close();
    }

    /** Base and delta read: fp32, 8 bytes per parameter. */
    static double bytesRead() {
        return (double) TENSORS * ROWS * COLS * Float.BYTES * 2;
    }

    /** Base and delta read, result written: fp32, 12 bytes per parameter. */
    static double bytesPerMerge() {
        return (double) TENSORS * ROWS * COLS * Float.BYTES * 3;
    }
}
