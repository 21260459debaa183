package dev.realign.realign;

import dev.realign.realign.MatrixProduct.View;

/**
 * IRR on one weight matrix: Identify and Remove per column block ({@link RemovalSelector}), then Recalibrate
 * the kept entries with SparseGPT's Optimal-Brain-Surgeon column update.
 *
 * <p>Everything acts on the DELTA D = W_ft - W_aligned, not on the weight, as in the authors' code
 * ({@code SparseGPT.fasterprune} with {@code base_W}: {@code W = weight - base_W}, the result is
 * {@code base_W + W}). Removing an entry means setting its delta to 0, i.e. resetting the weight to the aligned
 * value; the OBS update then spreads the change of the layer's output, (D - D') X, onto the kept deltas of the
 * later columns so that W' = W_aligned + D' keeps W_ft's output on the calibration inputs. Because OBS is
 * linear in W, working on D or on W gives the same kept-entry updates; what the delta view changes is what
 * "removed" resets to.
 *
 * <p>As in the authors' code the removal mask of each block is chosen on the block's delta as the lazy updates
 * of the earlier blocks left it, so a later block ranks the signs of the compensated delta (SparseGPT's adaptive
 * mask selection). Without recalibration the mask is chosen on the original delta.
 *
 * <p>One deviation: a column that no calibration token activates (diag H = 0) keeps its delta. SparseGPT zeroes
 * such "dead" columns because pruning them costs nothing on the calibration data; here that would silently revert
 * fine-tuned entries the calibration never saw. Its H diagonal is set to 1 (as SparseGPT does), which decouples it.
 */
final class MatrixRealignment {
    private MatrixRealignment() {}

    /**
     * @param delta       D (rows, cols) row-major, the new delta D' (removed entries exactly 0)
     * @param removed     the removal mask, same layout
     * @param conflicting entries of the ORIGINAL delta whose sign conflicts with the safety vector's
     */
    record Outcome(double[] delta, boolean[] removed, long conflicting) {
        long removedCount() {
            long c = 0;
            for (boolean b : removed) {
                if (b) {
                    c++;
                }
            }
            return c;
        }
    }

    /**
     * @param delta   D = W_ft - W_aligned, (rows, cols) row-major; not changed
     * @param safety  v = W_aligned - W_unaligned, same layout
     * @param fisher  safety importance, same layout
     * @param hessian H = 2/n sum x x^T over the layer's calibration inputs, (cols, cols), undamped; only read when
     *                recalibrating (may be null for remove-only)
     */
    static Outcome run(String name, int rows, int cols, double[] delta, float[] safety, float[] fisher,
                       double[] hessian, IrrParameters p) {
        return run(name, rows, cols, delta, safety, fisher, hessian, p, Cancellation.NEVER);
    }

    /** As above, checking {@code cancellation} between column blocks (of the factorization and of the update). */
    static Outcome run(String name, int rows, int cols, double[] delta, float[] safety, float[] fisher,
                       double[] hessian, IrrParameters p, Cancellation cancellation) {
        long size = (long) rows * cols;
        if (delta.length != size || safety.length != size || fisher.length != size) {
            throw new IllegalArgumentException("tensor '" + name + "': delta, safety vector and Fisher must each have "
                    + rows + "x" + cols + " entries, got " + delta.length + ", " + safety.length + ", " + fisher.length);
        }
        double[] d = delta.clone();
        long conflicting = RemovalSelector.conflicting(d, safety);
        double[] u = null;
        if (p.recalibrate()) {
            if (hessian == null || hessian.length != (long) cols * cols) {
                throw new IllegalArgumentException("tensor '" + name + "': recalibration needs a " + cols + "x" + cols
                        + " Hessian of its calibration inputs");
            }
            // damped() returns a copy, so the factor can take its place: one (cols, cols) array besides H
            u = InverseCholesky.upperOfInverseInPlace(damped(hessian, cols, p.dampFraction()), cols, name,
                    InverseCholesky.BLOCK, cancellation);
        }
        boolean[] removed = new boolean[d.length];
        int block = p.blockSize();
        for (int i1 = 0; i1 < cols; i1 += block) {
            cancellation.check();
            int i2 = Math.min(i1 + block, cols);
            int count = i2 - i1;
            double[] w1 = new double[rows * count];          // (rows, count): the block's current delta
            float[] s1 = new float[rows * count];
            float[] f1 = new float[rows * count];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(d, r * cols + i1, w1, r * count, count);
                System.arraycopy(safety, r * cols + i1, s1, r * count, count);
                System.arraycopy(fisher, r * cols + i1, f1, r * count, count);
            }
            boolean[] mask = RemovalSelector.select(w1, s1, f1, p.sparsity(), p.removeMore());
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < count; c++) {
                    removed[r * cols + i1 + c] = mask[r * count + c];
                }
            }
            if (u == null) {
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < count; c++) {
                        if (mask[r * count + c]) {
                            d[r * cols + i1 + c] = 0;
                        }
                    }
                }
                continue;
            }
            compensateBlock(d, rows, cols, i1, count, w1, mask, u);
        }
        return new Outcome(d, removed, conflicting);
    }

    /**
     * The OBS update of one block. Within the block, row by row (rows are independent: row r's update reads only
     * row r and U): column i's removed entries q = 0 leave an error err = (w - q) / U[i][i] that moves the block's
     * later columns by -err * U[i][i..]. Then the columns right of the block move by -Err1 U[block, right]
     * (SparseGPT's lazy batch update), as one matrix product: most of the update's work, and the part that read
     * U[block, right] from memory once per row when done row by row.
     */
    private static void compensateBlock(double[] d, int rows, int cols, int i1, int count, double[] w1, boolean[] mask,
                                        double[] u) {
        int i2 = i1 + count;
        double[] err = new double[rows * count]; // Err1 (rows, count)
        for (int r = 0; r < rows; r++) {
            int row = r * count;
            for (int i = 0; i < count; i++) {
                double w = w1[row + i];
                double q = mask[row + i] ? 0 : w;
                int uRow = (i1 + i) * cols;
                double e = (w - q) / u[uRow + i1 + i];
                err[row + i] = e;
                d[r * cols + i1 + i] = q;
                if (e != 0) {
                    for (int j = i + 1; j < count; j++) {
                        w1[row + j] -= e * u[uRow + i1 + j];
                    }
                }
            }
        }
        if (i2 < cols) {
            MatrixProduct.subtract(new View(err, 0, count), new View(u, i1 * cols + i2, cols), new View(d, i2, cols),
                    rows, cols - i2, count);
        }
    }

    /** H with dead columns' diagonal set to 1 and dampFraction * mean(diag) added to the diagonal (a copy). */
    static double[] damped(double[] hessian, int cols, double dampFraction) {
        double[] h = hessian.clone();
        double trace = 0;
        for (int i = 0; i < cols; i++) {
            int at = i * cols + i;
            if (h[at] == 0) {
                h[at] = 1;
            }
            trace += h[at];
        }
        double damp = dampFraction * trace / cols;
        for (int i = 0; i < cols; i++) {
            h[i * cols + i] += damp;
        }
        return h;
    }

    /**
     * Mean squared output error per calibration token of a weight change E (rows, cols):
     * ||E X||_F^2 / n = sum_r e_r^T H e_r / 2 for H = 2/n X X^T (symmetric).
     *
     * <p>With symmetry, e^T H e = sum_j H[j][j] e_j^2 + 2 sum_j e_j sum_{p<j} e_p H[p][j]: the inner sums for all
     * rows are E times the strict upper triangle of H, one matrix product over half of H.
     */
    static double outputError(double[] e, int rows, int cols, double[] hessian) {
        double[] c = new double[rows * cols]; // (rows, cols): c[r][j] = -sum_{p<j} e[r][p] H[p][j]
        int block = MatrixProduct.DEPTH_TILE;
        for (int p0 = 0; p0 < cols; p0 += block) {
            int p1 = Math.min(p0 + block, cols);
            if (p1 < cols) { // H rows [p0, p1), the columns right of them
                MatrixProduct.subtract(new View(e, p0, cols), new View(hessian, p0 * cols + p1, cols),
                        new View(c, p1, cols), rows, cols - p1, p1 - p0);
            }
            for (int r = 0; r < rows; r++) { // and the strict upper part of the diagonal block [p0, p1)
                int row = r * cols;
                for (int p = p0; p < p1; p++) {
                    double ep = e[row + p];
                    if (ep != 0) {
                        MatrixProduct.axpySubtract(ep, hessian, p * cols + p + 1, c, row + p + 1, p1 - p - 1);
                    }
                }
            }
        }
        double total = 0;
        for (int r = 0; r < rows; r++) {
            int row = r * cols;
            for (int j = 0; j < cols; j++) {
                double ej = e[row + j];
                total += ej * (hessian[j * cols + j] * ej - 2 * c[row + j]);
            }
        }
        return total / 2;
    }
}
