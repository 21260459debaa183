package dev.realign.model.matvec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/**
 * x W^T + b for decode-sized inputs through the Vector API kernel, or null when libtorch should compute it.
 *
 * <p>When it applies: x is fp32 with at most {@link #MAX_ROWS} rows (F16: at least {@code f16MinRows}),
 * W is an F32/F16 matrix that {@link WeightViews} can read in place, and nothing needs a gradient. The gradient check is on the
 * operands: libtorch records a product only when grad mode is on and an operand requires a gradient, and
 * in DJL neither grad mode (thread-local in libtorch, true by default on every thread but the engine's
 * first) nor PtGradientCollector's private flag says whether anyone will call backward. So when x, W or b
 * requires a gradient the product stays on libtorch, and otherwise libtorch would not have recorded it
 * either: the kernel's result is what libtorch's would be, minus rounding order.
 */
public final class DecodeLinear {
    /**
     * Most rows the kernel takes: from 16 rows on, F16 prefill widens to fp32 for libtorch's GEMM, and
     * the kernel's rate per weight byte falls with the rows (it re-reads each weight row from cache for
     * every four input rows); see {@code KernelVsTorchBenchmark} and docs/benchmarks.md.
     */
    public static final int MAX_ROWS = Integer.getInteger("realign.kernel.maxRows", 8);

    private static volatile boolean enabled = MAX_ROWS > 0;
    /**
     * Fewest rows an F16 matrix goes to the kernel with. One row stays on libtorch: its fp16 product on a
     * single row read 2x faster than the kernel's F16 loop end to end on the 415M model (19.8 against 10.5
     * tok/s in one JVM, docs/benchmarks.md). For 2-8 rows the kernel beat libtorch's fp16 product by far in
     * KernelVsTorchBenchmark, but that probe's libtorch figures are doubtful and batched F16 decode has not
     * been compared end to end yet.
     */
    private static volatile int f16MinRows = Integer.getInteger("realign.kernel.f16MinRows", 2);
    /** Time spent in the kernel's products (not the copies around them), for bench-engine's breakdown. */
    private static final LongAdder KERNEL_NANOS = new LongAdder();

    private DecodeLinear() {}

    /**
     * Turns the kernel on or off for the whole process (A/B tests and benchmarks; {@code
     * -Drealign.kernel.maxRows=0} turns it off from the start). Returns the previous setting.
     */
    public static boolean setEnabled(boolean on) {
        boolean previous = enabled;
        enabled = on;
        return previous;
    }

    /** Sets the fewest rows an F16 matrix goes to the kernel with (tests); returns the previous value. */
    static int f16MinRows(int rows) {
        int previous = f16MinRows;
        f16MinRows = rows;
        return previous;
    }

    /** Nanoseconds this process has spent inside kernel products so far. */
    public static long kernelNanos() {
        return KERNEL_NANOS.sum();
    }

    /**
     * @param x      (rows, in), fp32
     * @param weight (out, in), F32 or F16
     * @param bias   (out) or null
     * @return (rows, out) fp32 attached to x's manager, or null to fall back to libtorch
     */
    public static NDArray tryLinear(NDArray x, NDArray weight, NDArray bias) {
        Shape shape = x.getShape();
        if (!enabled || shape.dimension() != 2 || shape.get(0) > MAX_ROWS || x.getDataType() != DataType.FLOAT32
                || x.hasGradient() || weight.hasGradient() || (bias != null && bias.hasGradient())) {
            return null;
        }
        Optional<WeightView> view = WeightViews.of(weight);
        if (view.isEmpty() || view.get().inFeatures() != shape.get(1)) {
            return null;
        }
        WeightView w = view.get();
        int rows = (int) shape.get(0);
        if (w.type() == WeightType.F16 && rows < f16MinRows) {
            return null;
        }
        float[] in = x.toFloatArray();                      // (rows, in): a few KiB, copying is cheap
        float[] out = new float[rows * w.outFeatures()];     // (rows, out)
        long start = System.nanoTime();
        KernelThreads.shared().multiply(w, in, rows, out);
        KERNEL_NANOS.add(System.nanoTime() - start);
        NDArray y = x.getManager().create(out, new Shape(rows, w.outFeatures())); // fp32, the step's scope
        // In place: a converted bias would attach to the bias's (the model's) manager and outlive the step.
        return bias == null ? y : y.addi(bias); // an F16 bias is promoted to fp32 by the add
    }
}
