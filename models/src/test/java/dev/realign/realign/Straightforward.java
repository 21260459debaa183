package dev.realign.realign;

/**
 * The scalar double loops IRR's recalibration used before it was blocked (InverseCholesky's Crout factorization and
 * substitution inverse, MatrixRealignment's row-by-row column update and output error), kept here as the
 * reference the blocked, vectorized code must reproduce up to rounding. Same algorithm, same reversal trick;
 * {@link Reference} is the independent textbook route.
 */
final class Straightforward {
    private Straightforward() {}

    /** U with U^T U = H^-1, via J H J = L L^T and U = J L^-1 J, all in plain loops. */
    static double[] upperOfInverse(double[] h, int n) {
        double[] k = new double[h.length];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                k[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)];
            }
        }
        double[] l = lower(k, n);
        double[] lInv = invertLower(l, n);
        double[] u = new double[h.length];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                u[i * n + j] = lInv[(n - 1 - i) * n + (n - 1 - j)];
            }
        }
        return u;
    }

    /** Cholesky-Crout, row by row. */
    static double[] lower(double[] a, int n) {
        double[] l = new double[a.length];
        for (int i = 0; i < n; i++) {
            int rowI = i * n;
            for (int j = 0; j <= i; j++) {
                int rowJ = j * n;
                double sum = a[rowI + j];
                for (int p = 0; p < j; p++) {
                    sum -= l[rowI + p] * l[rowJ + p];
                }
                if (i == j) {
                    if (!(sum > 0)) {
                        throw new ArithmeticException("not positive definite");
                    }
                    l[rowI + i] = Math.sqrt(sum);
                } else {
                    l[rowI + j] = sum / l[rowJ + j];
                }
            }
        }
        return l;
    }

    /** L^-1 by forward substitution. */
    static double[] invertLower(double[] l, int n) {
        double[] inv = new double[l.length];
        for (int i = 0; i < n; i++) {
            int rowI = i * n;
            inv[rowI + i] = 1.0 / l[rowI + i];
            for (int j = 0; j < i; j++) {
                double sum = 0;
                for (int p = j; p < i; p++) {
                    sum += l[rowI + p] * inv[p * n + j];
                }
                inv[rowI + j] = -sum / l[rowI + i];
            }
        }
        return inv;
    }

    /** MatrixRealignment.run with recalibration, its block updates done row by row. */
    static double[] realign(int rows, int cols, double[] delta, float[] safety, float[] fisher, double[] hessian,
                            IrrParameters p) {
        double[] d = delta.clone();
        double[] u = upperOfInverse(MatrixRealignment.damped(hessian, cols, p.dampFraction()), cols);
        int block = p.blockSize();
        for (int i1 = 0; i1 < cols; i1 += block) {
            int i2 = Math.min(i1 + block, cols);
            int count = i2 - i1;
            double[] w1 = new double[rows * count];
            float[] s1 = new float[rows * count];
            float[] f1 = new float[rows * count];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(d, r * cols + i1, w1, r * count, count);
                System.arraycopy(safety, r * cols + i1, s1, r * count, count);
                System.arraycopy(fisher, r * cols + i1, f1, r * count, count);
            }
            boolean[] mask = RemovalSelector.select(w1, s1, f1, p.sparsity(), p.removeMore());
            double[] err = new double[count];
            for (int r = 0; r < rows; r++) {
                int row = r * count;
                for (int i = 0; i < count; i++) {
                    double w = w1[row + i];
                    double q = mask[row + i] ? 0 : w;
                    int uRow = (i1 + i) * cols;
                    double e = (w - q) / u[uRow + i1 + i];
                    err[i] = e;
                    d[r * cols + i1 + i] = q;
                    for (int j = i + 1; j < count; j++) {
                        w1[row + j] -= e * u[uRow + i1 + j];
                    }
                }
                for (int i = 0; i < count; i++) {
                    int uRow = (i1 + i) * cols;
                    for (int j = i2; j < cols; j++) {
                        d[r * cols + j] -= err[i] * u[uRow + j];
                    }
                }
            }
        }
        return d;
    }

    /** sum_r e_r^T H e_r / 2 over the full H. */
    static double outputError(double[] e, int rows, int cols, double[] hessian) {
        double total = 0;
        for (int r = 0; r < rows; r++) {
            int row = r * cols;
            for (int i = 0; i < cols; i++) {
                double sum = 0;
                for (int j = 0; j < cols; j++) {
                    sum += hessian[i * cols + j] * e[row + j];
                }
                total += e[row + i] * sum;
            }
        }
        return total / 2;
    }
}
