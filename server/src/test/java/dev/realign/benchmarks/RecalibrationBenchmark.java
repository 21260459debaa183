package dev.realign.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.realign.realign.RecalibrationWorkload;
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
 * IRR's recalibration of one down_proj of the benchmark shape (DESIGN §7: hidden 896, intermediate 4864), the
 * tensor that dominated the 415M job: weight (896, 4864), calibration Hessian (4864, 4864) from 2048 correlated
 * inputs, the paper's defaults. One operation is what the job does per tensor: the inverse Cholesky factor, the
 * column-block OBS update and the two output errors ({@link RecalibrationWorkload}).
 *
 * <p>{@code blocked} is the production code; {@code straightforward} the scalar loops it replaced, 3-4 minutes an
 * operation, so it is not in the default run: {@code ./realign bench-jmh Recalibration -p path=straightforward -wi 0
 * -i 1}. Both are single-threaded Java in double precision. The bound is the
 * blocked path's floating-point operations over libtorch's fp64 matrix-product rate on one thread measured in the
 * same JVM (MKL's dgemm: the fastest one core of this machine has been seen to multiply doubles).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g", "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1"})
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class RecalibrationBenchmark {
    static final int ROWS = 896;
    static final int COLS = 4864;
    static final int TOKENS = 2048;

    @Param({"blocked"}) // or "straightforward", on request (see above)
    public String path;

    private Machine machine;
    private RecalibrationWorkload workload;
    private double fp64Gflops;
    private final IterationTimes times = new IterationTimes();

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.measure();
        fp64Gflops = torchFp64Gflops(1024);
        workload = RecalibrationWorkload.random(ROWS, COLS, TOKENS, 42);
    }

    @Setup(Level.Iteration)
    public void iteration(IterationParams params) {
        times.begin(params);
    }

    @Benchmark
    public double realignOneTensor() {
        long start = System.nanoTime();
        double probe = path.equals("blocked") ? workload.blocked() : workload.straightforward();
        times.record(System.nanoTime() - start);
        return probe;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        double seconds = times.medianSeconds();
        double flops = workload.flops();
        double bound = flops / (fp64Gflops * 1e9);
        System.out.printf(Locale.ROOT, "%n[recalibration] %s%n[recalibration] %s: (%d, %d) down_proj, %.1f GFLOP"
                        + " (blocked count), median %.2f s -> %.1f GFLOP/s; libtorch fp64 GEMM on one thread %.1f GFLOP/s"
                        + " -> time bound %.2f s -> %.0f%% of bound%n", machine.describe(), path, ROWS, COLS,
                flops / 1e9, seconds, flops / seconds / 1e9, fp64Gflops, bound, 100 * bound / seconds);
    }

    /** libtorch's fp64 (n, n) x (n, n) rate: the best of 10 products after 2 warm-ups. */
    static double torchFp64Gflops(int n) {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.randomNormal(new Shape(n, n), DataType.FLOAT32).toType(DataType.FLOAT64, false);
            NDArray b = manager.randomNormal(new Shape(n, n), DataType.FLOAT32).toType(DataType.FLOAT64, false);
            double best = 0;
            for (int i = 0; i < 12; i++) {
                try (NDManager step = manager.newSubManager()) {
                    long start = System.nanoTime();
                    NDArray c = a.matMul(b);
                    c.attach(step);
                    c.getDouble(0, 0);
                    double rate = 2.0 * n * n * n / (System.nanoTime() - start);
                    if (i >= 2) {
                        best = Math.max(best, rate);
                    }
                }
            }
            return best;
        }
    }
}
