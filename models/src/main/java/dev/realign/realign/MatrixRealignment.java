package dev.realign.realign;

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
            u = InverseCholesky.upperOfInverse(damped(hessian, cols, p.dampFraction()), cols, name);
        }
        boolean[] removed = new boolean[d.length];
        int block = p.blockSize();
        for (int i1 = 0; i1 < cols; i1 += block) {
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
     * The OBS update of one block, row by row (rows are independent: row r's update reads only row r and U).
     * Column i's removed entries q = 0 leave an error err = (w - q) / U[i][i] that moves the block's later columns
     * by -err * U[i][i..], and after the block the columns right of it by -Err1 U[block, right] (SparseGPT's lazy
     * batch update).
     */
    private static void compensateBlock(double[] d, int rows, int cols, int i1, int count, double[] w1, boolean[] mask,
                                        double[] u) {
        int i2 = i1 + count;
        double[] err = new double[count];
        for (int r = 0; r < rows; r++) {
            int row = r * count;
            boolean any = false;
            for (int i = 0; i < count; i++) {
                double w = w1[row + i];
                double q = mask[row + i] ? 0 : w;
                int uRow = (i1 + i) * cols;
                double e = (w - q) / u[uRow + i1 + i];
                err[i] = e;
                d[r * cols + i1 + i] = q;
                if (e != 0) {
                    any = true;
                    for (int j = i + 1; j < count; j++) {
                        w1[row + j] -= e * u[uRow + i1 + j];
                    }
                }
            }
            if (!any) {
                continue;
            }
            int out = r * cols;
            for (int i = 0; i < count; i++) {
                double e = err[i];
                if (e == 0) {
                    continue;
                }
                int uRow = (i1 + i) * cols;
                for (int j = i2; j < cols; j++) {
                    d[out + j] -= e * u[uRow + j];
                }
            }
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
     * ||E X||_F^2 / n = sum_r e_r^T H e_r / 2 for H = 2/n X X^T.
     */
    static double outputError(double[] e, int rows, int cols, double[] hessian) {
        double total = 0;
        double[] he = new double[cols];
        for (int r = 0; r < rows; r++) {
            int row = r * cols;
            boolean any = false;
            for (int c = 0; c < cols; c++) {
                if (e[row + c] != 0) {
                    any = true;
                    break;
                }
            }
            if (!any) {
                continue;
            }
            for (int i = 0; i < cols; i++) {
                double sum = 0;
                int hRow = i * cols;
                for (int j = 0; j < cols; j++) {
                    sum += hessian[hRow + j] * e[row + j];
                }
                he[i] = sum;
            }
            for (int i = 0; i < cols; i++) {
                total += e[row + i] * he[i];
            }
        }
        return total / 2;
    }
}
