package dev.realign.realign;

import dev.realign.realign.MatrixProduct.View;

/**
 * The upper Cholesky factor U of H^-1 (H^-1 = U^T U), which SparseGPT's column-by-column OBS update reads:
 * row i of U, divided by U[i][i], is how the error of zeroing column i spreads over the later columns.
 *
 * <p>The authors compute it as cholesky(cholesky_inverse(cholesky(H)), upper). Here it comes from one
 * Cholesky factorization and one triangular inverse, through the reversal J (J[i][j] = 1 where i + j = n - 1):
 * with J H J = L L^T, H^-1 = J L^-T L^-1 J = U^T U for U = J L^-1 J, which is upper triangular with a positive
 * diagonal, hence THE Cholesky factor. Fewer operations, fewer roundings; the tests check it against the
 * textbook route. On a row-major array, J M J is the array reversed, so both reversals are one pass in place.
 *
 * <p>Both steps are blocked so that their O(n^3 / 3) work is {@link MatrixProduct}'s cache-friendly, vectorized
 * product, and each works in place: an 11008-wide Hessian is 970 MB of doubles, and the whole computation holds
 * one such array besides the caller's. Double precision throughout: the OBS update divides by U's diagonal, and
 * the damped Hessians of real activations are ill-conditioned enough (condition numbers of 10^6 and more) that a
 * float32 factor would lose most of its digits.
 */
final class InverseCholesky {
    /** Columns per block: the depth of the trailing products, as {@link MatrixProduct#DEPTH_TILE}. */
    static final int BLOCK = MatrixProduct.DEPTH_TILE;

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
        return upperOfInverseInPlace(h.clone(), n, name, BLOCK, Cancellation.NEVER);
    }

    /**
     * As {@link #upperOfInverse} but overwriting {@code h} with U (and returning it), with a chosen block size
     * (the tests use small ones to exercise the blocking on small matrices); checks {@code cancellation} once per
     * block.
     */
    static double[] upperOfInverseInPlace(double[] h, int n, String name, int block, Cancellation cancellation) {
        if (h.length != (long) n * n) {
            throw new IllegalArgumentException("Hessian of '" + name + "' has " + h.length + " entries, not " + n + "^2");
        }
        reverse(h);                                  // J H J
        factorLower(h, n, block, name, cancellation); // lower triangle := L
        for (int i = 0; i < n; i++) {                // the strict upper part still holds J H J: clear it
            java.util.Arrays.fill(h, i * n + i + 1, (i + 1) * n, 0);
        }
        invertLower(h, n, block, cancellation);      // lower triangle := L^-1
        reverse(h);                                  // U = J L^-1 J, zeros below the diagonal
        return h;
    }

    private static void reverse(double[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /**
     * Right-looking blocked Cholesky in place: a's lower triangle (n, n) row-major becomes L with A = L L^T; the
     * strict upper part is never read and is left holding scratch values (the trailing products run over whole
     * tiles, diagonal ones included). Per block of columns [k0, k1): factor the diagonal block,
     * solve the panel below it, then subtract the panel's outer product from the lower trailing matrix.
     */
    static void factorLower(double[] a, int n, int block, String name, Cancellation cancellation) {
        for (int k0 = 0; k0 < n; k0 += block) {
            cancellation.check();
            int k1 = Math.min(k0 + block, n);
            int width = k1 - k0;
            factorDiagonalBlock(a, n, k0, k1, name);
            int below = n - k1;
            if (below == 0) {
                break;
            }
            double[] panel = solvePanel(a, n, k0, k1);                // (width, below): L[k1.., k0..k1)^T
            View panelT = new View(panel, 0, below);
            for (int r0 = k1; r0 < n; r0 += block) {                 // only the lower triangle: columns <= row
                int r1 = Math.min(r0 + block, n);
                MatrixProduct.subtract(new View(a, r0 * n + k0, n), panelT, new View(a, r0 * n + k1, n),
                        r1 - r0, r1 - k1, width);
            }
        }
    }

    /** Unblocked Cholesky-Crout of the (already updated) diagonal block [k0, k1) in place. */
    private static void factorDiagonalBlock(double[] a, int n, int k0, int k1, String name) {
        for (int i = k0; i < k1; i++) {
            int rowI = i * n;
            for (int j = k0; j <= i; j++) {
                int rowJ = j * n;
                double sum = a[rowI + j];
                for (int p = k0; p < j; p++) {
                    sum -= a[rowI + p] * a[rowJ + p];
                }
                if (i == j) {
                    if (!(sum > 0)) {
                        throw new ArithmeticException("the damped Hessian of '" + name + "' is not positive definite"
                                + " (pivot " + sum + " at column " + (n - 1 - i) + "); raise dampFraction or add"
                                + " calibration tokens");
                    }
                    a[rowI + i] = Math.sqrt(sum);
                } else {
                    a[rowI + j] = sum / a[rowJ + j];
                }
            }
        }
    }

    /**
     * L21 = A21 L11^-T for the rows below the diagonal block, written back into a and returned transposed,
     * (width, below) row-major, as the trailing product's right operand. Solved on the transpose so that each
     * step is a vector update of a whole row of the panel, in column chunks that stay in cache.
     */
    private static double[] solvePanel(double[] a, int n, int k0, int k1) {
        int width = k1 - k0;
        int below = n - k1;
        double[] p = new double[width * below];
        for (int i = 0; i < below; i++) {
            int row = (k1 + i) * n + k0;
            for (int q = 0; q < width; q++) {
                p[q * below + i] = a[row + q];
            }
        }
        for (int c0 = 0; c0 < below; c0 += MatrixProduct.COLUMN_TILE) {
            int chunk = Math.min(MatrixProduct.COLUMN_TILE, below - c0);
            for (int q = 0; q < width; q++) {
                int rowQ = (k0 + q) * n + k0; // L11 row q
                for (int s = 0; s < q; s++) {
                    MatrixProduct.axpySubtract(a[rowQ + s], p, s * below + c0, p, q * below + c0, chunk);
                }
                double inv = 1.0 / a[rowQ + q];
                for (int j = q * below + c0, end = j + chunk; j < end; j++) {
                    p[j] *= inv;
                }
            }
        }
        for (int i = 0; i < below; i++) {
            int row = (k1 + i) * n + k0;
            for (int q = 0; q < width; q++) {
                a[row + q] = p[q * below + i];
            }
        }
        return p;
    }

    /**
     * L^-1 in place for a lower-triangular L (n, n) row-major with zeros above the diagonal, by row blocks
     * I = [i0, i1): X[I, :i0] = -L_II^-1 (L[I, :i0] X[:i0, :i0]) (a product with the rows already inverted, whose
     * upper zeros let it run over full tiles), then X[I, I] = L_II^-1.
     */
    static void invertLower(double[] l, int n, int block, Cancellation cancellation) {
        for (int i0 = 0; i0 < n; i0 += block) {
            cancellation.check();
            int i1 = Math.min(i0 + block, n);
            int height = i1 - i0;
            double[] diagonal = new double[height * height]; // L_II, read by both steps below
            for (int r = 0; r < height; r++) {
                System.arraycopy(l, (i0 + r) * n + i0, diagonal, r * height, r + 1);
            }
            if (i0 > 0) {
                double[] t = new double[height * i0]; // (height, i0): -(L[I, :i0] X[:i0, :i0])
                for (int p0 = 0; p0 < i0; p0 += block) {
                    int p1 = Math.min(p0 + block, i0); // X rows [p0, p1) are zero right of column p1
                    MatrixProduct.subtract(new View(l, i0 * n + p0, n), new View(l, p0 * n, n), new View(t, 0, i0),
                            height, p1, p1 - p0);
                }
                // forward substitution with L_II, one whole row of t at a time, in column chunks that stay in cache
                for (int c0 = 0; c0 < i0; c0 += MatrixProduct.COLUMN_TILE) {
                    int chunk = Math.min(MatrixProduct.COLUMN_TILE, i0 - c0);
                    for (int r = 0; r < height; r++) {
                        for (int s = 0; s < r; s++) {
                            MatrixProduct.axpySubtract(diagonal[r * height + s], t, s * i0 + c0, t, r * i0 + c0, chunk);
                        }
                        double inv = 1.0 / diagonal[r * height + r];
                        for (int j = r * i0 + c0, end = j + chunk; j < end; j++) {
                            t[j] *= inv;
                        }
                    }
                }
                for (int r = 0; r < height; r++) {
                    System.arraycopy(t, r * i0, l, (i0 + r) * n, i0);
                }
            }
            double[] inverse = invertSmallLower(diagonal, height);
            for (int r = 0; r < height; r++) {
                System.arraycopy(inverse, r * height, l, (i0 + r) * n + i0, r + 1);
            }
        }
    }

    /** The inverse of a small lower-triangular (m, m) matrix, row by row: X[r] = -(sum_{s<r} L[r][s] X[s]) / L[r][r]. */
    private static double[] invertSmallLower(double[] l, int m) {
        double[] x = new double[m * m];
        for (int r = 0; r < m; r++) {
            int row = r * m;
            for (int s = 0; s < r; s++) {
                MatrixProduct.axpySubtract(l[row + s], x, s * m, x, row, s + 1);
            }
            double inv = 1.0 / l[row + r];
            for (int j = 0; j < r; j++) {
                x[row + j] *= inv;
            }
            x[row + r] = inv;
        }
        return x;
    }
}
