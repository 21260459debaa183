package dev.realign.realign;

import dev.realign.realign.MatrixProduct.View;
import java.util.SplittableRandom;

/**
 * One projection's share of an IRR job, for the JMH benchmark in the server module (which cannot reach this
 * package's classes): what {@code Irr.realign} computes per tensor, i.e. the remove-and-recalibrate of
 * {@link MatrixRealignment#run} plus the two output errors, on a random problem of a chosen shape at the paper's
 * defaults. {@link #blocked} is the production code, {@link #straightforward} the scalar loops it replaced.
 */
public final class RecalibrationWorkload {
    private final int rows;
    private final int cols;
    private final double[] delta;  // (rows, cols)
    private final float[] safety;  // (rows, cols)
    private final float[] fisher;  // (rows, cols)
    private final double[] hessian; // (cols, cols)

    private RecalibrationWorkload(int rows, int cols, double[] delta, float[] safety, float[] fisher, double[] hessian) {
        this.rows = rows;
        this.cols = cols;
        this.delta = delta;
        this.safety = safety;
        this.fisher = fisher;
        this.hessian = hessian;
    }

    /**
     * Deltas, safety vector and Fisher Gaussian; H = 2/T X^T X over {@code tokens} inputs whose features share a
     * common component (pairwise correlation 0.8), as real activations are correlated.
     */
    public static RecalibrationWorkload random(int rows, int cols, int tokens, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double[] delta = new double[rows * cols];
        float[] safety = new float[rows * cols];
        float[] fisher = new float[rows * cols];
        for (int i = 0; i < delta.length; i++) {
            delta[i] = (float) (0.01 * random.nextGaussian());
            safety[i] = (float) random.nextGaussian();
            fisher[i] = (float) Math.abs(random.nextGaussian());
        }
        double[] xT = new double[cols * tokens]; // (cols, tokens): X^T
        for (int t = 0; t < tokens; t++) {
            double shared = random.nextGaussian();
            for (int c = 0; c < cols; c++) {
                xT[c * tokens + t] = shared + 0.5 * random.nextGaussian();
            }
        }
        double[] x = new double[tokens * cols]; // (tokens, cols)
        for (int c = 0; c < cols; c++) {
            for (int t = 0; t < tokens; t++) {
                x[t * cols + c] = xT[c * tokens + t];
            }
        }
        double[] h = new double[cols * cols];
        MatrixProduct.subtract(new View(xT, 0, tokens), new View(x, 0, cols), new View(h, 0, cols), cols, cols, tokens);
        double scale = -2.0 / tokens; // h holds -X^T X
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j <= i; j++) { // exactly symmetric, as the order of a product's sums may not leave it
                double v = scale * h[i * cols + j];
                h[i * cols + j] = v;
                h[j * cols + i] = v;
            }
        }
        return new RecalibrationWorkload(rows, cols, delta, safety, fisher, h);
    }

    /** The production path; returns a number that depends on every result, so that nothing is optimized away. */
    public double blocked() {
        MatrixRealignment.Outcome out = MatrixRealignment.run("w", rows, cols, delta, safety, fisher, hessian,
                IrrParameters.DEFAULTS);
        return errors(out.delta(), out.removed(), MatrixRealignment::outputError);
    }

    /** The scalar loops IRR used before ({@link Straightforward}), same results up to rounding. */
    public double straightforward() {
        double[] d = Straightforward.realign(rows, cols, delta, safety, fisher, hessian, IrrParameters.DEFAULTS);
        boolean[] removed = new boolean[d.length];
        for (int i = 0; i < d.length; i++) {
            removed[i] = d[i] == 0 && delta[i] != 0;
        }
        return errors(d, removed, Straightforward::outputError);
    }

    private interface OutputError {
        double of(double[] e, int rows, int cols, double[] hessian);
    }

    /** The two errors Irr reports: of the removal alone, and of the recalibrated result. */
    private double errors(double[] result, boolean[] removed, OutputError error) {
        double[] plain = new double[delta.length];
        double[] change = new double[delta.length];
        for (int i = 0; i < delta.length; i++) {
            plain[i] = removed[i] ? delta[i] : 0;
            change[i] = delta[i] - result[i];
        }
        return error.of(plain, rows, cols, hessian) + error.of(change, rows, cols, hessian);
    }

    /**
     * Floating-point operations of the blocked path (a multiply-add is 2): the factorization and the triangular
     * inverse n^3/3 each, the OBS update rows * cols^2 (the lazy products, rows * cols * (cols - block), plus the
     * in-block updates, rows * cols * block), and each output error rows * cols^2 (half of H).
     */
    public double flops() {
        double n = cols;
        return 2 * n * n * n / 3 + 3.0 * rows * n * n;
    }
}
