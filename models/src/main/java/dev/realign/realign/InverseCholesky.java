package dev.realign.realign;

/**
 * The upper Cholesky factor U of H^-1 (H^-1 = U^T U), which SparseGPT's column-by-column OBS update reads:
 * row i of U, divided by U[i][i], is how the error of zeroing column i spreads over the later columns.
 *
 * <p>The authors compute it as cholesky(cholesky_inverse(cholesky(H)), upper). Here it comes from one
 * Cholesky factorization and one triangular inverse, through the reversal J (J[i][j] = 1 where i + j = n - 1):
 * with J H J = L L^T, H^-1 = J L^-T L^-1 J = U^T U for U = J L^-1 J, which is upper triangular with a positive
 * diagonal, hence THE Cholesky factor. Fewer operations, fewer roundings; the tests check it against the
 * textbook route.
 *
 * <p>Plain double-precision Java, O(n^3 / 3) for each of the two steps: milliseconds for test models, minutes
 * for an 11008-wide down_proj.
 */
final class InverseCholesky {
    private InverseCholesky() {}

    /**
     * @param h    symmetric positive definite (n, n), row-major; not changed
     * @param name the tensor it belongs to, for the error message
     * @return U (n, n) row-major, zeros below the diagonal
     */
    static double[] upperOfInverse(double[] h, int n, String name) {
        if (h.length != (long) n * n) {
            throw new IllegalArgumentException("Hessian of '" + name + "' has " + h.length + " entries, not " + n + "^2");
        }
        double[] k = new double[h.length]; // J H J: both axes reversed
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                k[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)];
            }
        }
        double[] l = lower(k, n, name);
        double[] lInv = invertLower(l, n);
        double[] u = new double[h.length];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                u[i * n + j] = lInv[(n - 1 - i) * n + (n - 1 - j)];
            }
        }
        return u;
    }

    /** Cholesky-Crout, row by row: L with A = L L^T, A (n, n) row-major SPD. */
    static double[] lower(double[] a, int n, String name) {
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
                        throw new ArithmeticException("the damped Hessian of '" + name + "' is not positive definite"
                                + " (pivot " + sum + " at column " + (n - 1 - i) + "); raise dampFraction or add"
                                + " calibration tokens");
                    }
                    l[rowI + i] = Math.sqrt(sum);
                } else {
                    l[rowI + j] = sum / l[rowJ + j];
                }
            }
        }
        return l;
    }

    /** L^-1 of a lower-triangular L by forward substitution, column by column of the identity. */
    static double[] invertLower(double[] l, int n) {
        double[] inv = new double[l.length];
        for (int i = 0; i < n; i++) {
            int rowI = i * n;
            inv[rowI + i] = 1.0 / l[rowI + i];
            for (int j = 0; j < i; j++) {
                // (L^-1)[i][j] = -(sum_{p=j}^{i-1} L[i][p] (L^-1)[p][j]) / L[i][i]
                double sum = 0;
                for (int p = j; p < i; p++) {
                    sum += l[rowI + p] * inv[p * n + j];
                }
                inv[rowI + j] = -sum / l[rowI + i];
            }
        }
        return inv;
    }
}
