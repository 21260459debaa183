package dev.realign.realign;

import java.util.ArrayList;
import java.util.List;

/**
 * Independent double-precision reference routines for the IRR tests: straightforward, slow, written from the
 * textbook definitions rather than from the production code's tricks.
 */
final class Reference {
    private Reference() {}

    /** Gauss-Jordan inverse with partial pivoting. */
    static double[] inverse(double[] a, int n) {
        double[] m = a.clone();
        double[] inv = new double[n * n];
        for (int i = 0; i < n; i++) {
            inv[i * n + i] = 1;
        }
        for (int c = 0; c < n; c++) {
            int pivot = c;
            for (int r = c + 1; r < n; r++) {
                if (Math.abs(m[r * n + c]) > Math.abs(m[pivot * n + c])) {
                    pivot = r;
                }
            }
            swapRows(m, n, c, pivot);
            swapRows(inv, n, c, pivot);
            double p = m[c * n + c];
            for (int j = 0; j < n; j++) {
                m[c * n + j] /= p;
                inv[c * n + j] /= p;
            }
            for (int r = 0; r < n; r++) {
                if (r != c) {
                    double f = m[r * n + c];
                    for (int j = 0; j < n; j++) {
                        m[r * n + j] -= f * m[c * n + j];
                        inv[r * n + j] -= f * inv[c * n + j];
                    }
                }
            }
        }
        return inv;
    }

    private static void swapRows(double[] m, int n, int a, int b) {
        for (int j = 0; j < n; j++) {
            double t = m[a * n + j];
            m[a * n + j] = m[b * n + j];
            m[b * n + j] = t;
        }
    }

    /** Lower Cholesky factor, Cholesky-Banachiewicz. */
    static double[] cholesky(double[] a, int n) {
        double[] l = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int k = 0; k < j; k++) {
                    s += l[i * n + k] * l[j * n + k];
                }
                l[i * n + j] = i == j ? Math.sqrt(a[i * n + i] - s) : (a[i * n + j] - s) / l[j * n + j];
            }
        }
        return l;
    }

    static double[] transpose(double[] a, int n) {
        double[] t = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                t[j * n + i] = a[i * n + j];
            }
        }
        return t;
    }

    /**
     * IRR's realignment of a (rows, cols) delta by classical Optimal Brain Surgeon, column by column: at column i
     * the still-free columns F = {i..cols-1} see G = (H_FF)^-1 recomputed from scratch, and zeroing w_i moves
     * w_F by -(w_i - q_i) / G_ii * G_i,F. SparseGPT's Cholesky rows are these rows of G, scaled; this routine
     * uses none of that. The removal mask of each block is chosen on the block's delta at the block's start, by
     * a sort written here: conflicting signs, ranked by Fisher (ties by row-major index), the top
     * count - floor(count * sparsity) removed.
     *
     * @param h the damped Hessian (cols, cols)
     */
    static double[] realign(double[] delta, int rows, int cols, float[] safety, float[] fisher, double[] h,
                            double sparsity, int blockSize, boolean compensate) {
        double[] d = delta.clone();
        for (int i1 = 0; i1 < cols; i1 += blockSize) {
            int i2 = Math.min(cols, i1 + blockSize);
            List<double[]> candidates = new ArrayList<>(); // {fisher, row-major index in block, row, col}
            for (int r = 0; r < rows; r++) {
                for (int c = i1; c < i2; c++) {
                    if (Math.signum(d[r * cols + c]) != Math.signum(safety[r * cols + c])) {
                        candidates.add(new double[] {fisher[r * cols + c], r * (i2 - i1) + (c - i1), r, c});
                    }
                }
            }
            candidates.sort((a, b) -> a[0] != b[0] ? Double.compare(a[0], b[0]) : Double.compare(a[1], b[1]));
            boolean[] mask = new boolean[rows * cols];
            for (int k = (int) (candidates.size() * sparsity); k < candidates.size(); k++) {
                mask[(int) candidates.get(k)[2] * cols + (int) candidates.get(k)[3]] = true;
            }
            for (int i = i1; i < i2; i++) {
                int free = cols - i;
                double[] sub = new double[free * free];
                for (int a = 0; a < free; a++) {
                    for (int b = 0; b < free; b++) {
                        sub[a * free + b] = h[(i + a) * cols + (i + b)];
                    }
                }
                double[] g = inverse(sub, free);
                for (int r = 0; r < rows; r++) {
                    double w = d[r * cols + i];
                    double q = mask[r * cols + i] ? 0 : w;
                    d[r * cols + i] = q;
                    if (!compensate) {
                        continue;
                    }
                    double step = (w - q) / g[0];
                    for (int b = 1; b < free; b++) {
                        d[r * cols + i + b] -= step * g[b];
                    }
                }
            }
        }
        return d;
    }

    /** ||E X||_F^2 / n with X given as n rows of (cols): the mean squared output change per token. */
    static double outputError(double[] e, int rows, int cols, double[][] x) {
        double total = 0;
        for (double[] token : x) {
            for (int r = 0; r < rows; r++) {
                double y = 0;
                for (int c = 0; c < cols; c++) {
                    y += e[r * cols + c] * token[c];
                }
                total += y * y;
            }
        }
        return total / x.length;
    }
}
