package dev.realign.realign;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * C -= A B in double precision, the one dense kernel of IRR's recalibration: the trailing updates of
 * {@link InverseCholesky}, SparseGPT's lazy batch update and the output error of {@link MatrixRealignment} are all
 * this product. Every matrix is a row-major view into an array (offset, row stride), so callers pass sub-blocks
 * without copying.
 *
 * <p>Why this shape of loop: the scalar row-by-row loops it replaced streamed an (up to 128 x 4864) block of U from
 * memory once per weight row, and their dot products were latency-bound chains of dependent adds. Here a tile of B
 * (at most {@link #DEPTH_TILE} x {@link #COLUMN_TILE} doubles, 256 KiB) stays in the L2 cache while every row of A
 * passes over it, and each step of the inner loop keeps 4 rows x 2 vectors of C in registers: 8 independent FMA
 * chains per 2 vector loads of B and 4 broadcasts of A.
 *
 * <p>Results differ from a plain triple loop only by rounding (FMA, and sums in a different order); single-threaded
 * on purpose: the job runs beside serving on the same cores.
 */
final class MatrixProduct {
    private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
    private static final int LANES = DOUBLES.length();
    /** Rows of B (columns of A) per pass: with {@link #COLUMN_TILE}, the B tile that stays in L2. */
    static final int DEPTH_TILE = 128;
    static final int COLUMN_TILE = 256;

    private MatrixProduct() {}

    /** A row-major (rows, cols) window of {@code data}: element (i, j) at {@code offset + i * stride + j}. */
    record View(double[] data, int offset, int stride) {
        View at(int row, int col) {
            return new View(data, offset + row * stride + col, stride);
        }
    }

    /**
     * C[i][j] -= sum_p A[i][p] B[p][j] for i < m, j < n, p < k.
     *
     * @param a (m, k)
     * @param b (k, n)
     * @param c (m, n); must not overlap A or B
     */
    static void subtract(View a, View b, View c, int m, int n, int k) {
        for (int p0 = 0; p0 < k; p0 += DEPTH_TILE) {
            int depth = Math.min(DEPTH_TILE, k - p0);
            for (int j0 = 0; j0 < n; j0 += COLUMN_TILE) {
                int width = Math.min(COLUMN_TILE, n - j0);
                tile(a.data(), a.offset() + p0, a.stride(), b.data(), b.offset() + p0 * b.stride() + j0, b.stride(),
                        c.data(), c.offset() + j0, c.stride(), m, width, depth);
            }
        }
    }

    /** One B tile (depth, width) against all m rows of A's matching columns. */
    private static void tile(double[] a, int aOff, int aStride, double[] b, int bOff, int bStride,
                             double[] c, int cOff, int cStride, int m, int width, int depth) {
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            fourRows(a, aOff + i * aStride, aStride, b, bOff, bStride, c, cOff + i * cStride, cStride, width, depth);
        }
        for (; i < m; i++) {
            oneRow(a, aOff + i * aStride, b, bOff, bStride, c, cOff + i * cStride, width, depth);
        }
    }

    private static void fourRows(double[] a, int aOff, int aStride, double[] b, int bOff, int bStride,
                                 double[] c, int cOff, int cStride, int width, int depth) {
        int a0 = aOff;
        int a1 = aOff + aStride;
        int a2 = aOff + 2 * aStride;
        int a3 = aOff + 3 * aStride;
        int j = 0;
        for (; j + 2 * LANES <= width; j += 2 * LANES) {
            DoubleVector c00 = DoubleVector.zero(DOUBLES);
            DoubleVector c01 = c00;
            DoubleVector c10 = c00;
            DoubleVector c11 = c00;
            DoubleVector c20 = c00;
            DoubleVector c21 = c00;
            DoubleVector c30 = c00;
            DoubleVector c31 = c00;
            int bp = bOff + j;
            for (int p = 0; p < depth; p++, bp += bStride) {
                DoubleVector b0 = DoubleVector.fromArray(DOUBLES, b, bp);
                DoubleVector b1 = DoubleVector.fromArray(DOUBLES, b, bp + LANES);
                DoubleVector x = DoubleVector.broadcast(DOUBLES, a[a0 + p]);
                c00 = b0.fma(x, c00);
                c01 = b1.fma(x, c01);
                x = DoubleVector.broadcast(DOUBLES, a[a1 + p]);
                c10 = b0.fma(x, c10);
                c11 = b1.fma(x, c11);
                x = DoubleVector.broadcast(DOUBLES, a[a2 + p]);
                c20 = b0.fma(x, c20);
                c21 = b1.fma(x, c21);
                x = DoubleVector.broadcast(DOUBLES, a[a3 + p]);
                c30 = b0.fma(x, c30);
                c31 = b1.fma(x, c31);
            }
            int r = cOff + j;
            store(c, r, c00, c01);
            store(c, r + cStride, c10, c11);
            store(c, r + 2 * cStride, c20, c21);
            store(c, r + 3 * cStride, c30, c31);
        }
        for (; j + LANES <= width; j += LANES) { // one more vector of columns
            DoubleVector c0 = DoubleVector.zero(DOUBLES);
            DoubleVector c1 = c0;
            DoubleVector c2 = c0;
            DoubleVector c3 = c0;
            int bp = bOff + j;
            for (int p = 0; p < depth; p++, bp += bStride) {
                DoubleVector b0 = DoubleVector.fromArray(DOUBLES, b, bp);
                c0 = b0.fma(DoubleVector.broadcast(DOUBLES, a[a0 + p]), c0);
                c1 = b0.fma(DoubleVector.broadcast(DOUBLES, a[a1 + p]), c1);
                c2 = b0.fma(DoubleVector.broadcast(DOUBLES, a[a2 + p]), c2);
                c3 = b0.fma(DoubleVector.broadcast(DOUBLES, a[a3 + p]), c3);
            }
            int r = cOff + j;
            subtractInto(c, r, c0);
            subtractInto(c, r + cStride, c1);
            subtractInto(c, r + 2 * cStride, c2);
            subtractInto(c, r + 3 * cStride, c3);
        }
        for (; j < width; j++) { // the last columns, fewer than a vector
            double s0 = 0;
            double s1 = 0;
            double s2 = 0;
            double s3 = 0;
            int bp = bOff + j;
            for (int p = 0; p < depth; p++, bp += bStride) {
                double y = b[bp];
                s0 += a[a0 + p] * y;
                s1 += a[a1 + p] * y;
                s2 += a[a2 + p] * y;
                s3 += a[a3 + p] * y;
            }
            int r = cOff + j;
            c[r] -= s0;
            c[r + cStride] -= s1;
            c[r + 2 * cStride] -= s2;
            c[r + 3 * cStride] -= s3;
        }
    }

    private static void oneRow(double[] a, int aOff, double[] b, int bOff, int bStride, double[] c, int cOff,
                               int width, int depth) {
        int j = 0;
        for (; j + LANES <= width; j += LANES) {
            DoubleVector sum = DoubleVector.zero(DOUBLES);
            int bp = bOff + j;
            for (int p = 0; p < depth; p++, bp += bStride) {
                sum = DoubleVector.fromArray(DOUBLES, b, bp).fma(DoubleVector.broadcast(DOUBLES, a[aOff + p]), sum);
            }
            subtractInto(c, cOff + j, sum);
        }
        for (; j < width; j++) {
            double s = 0;
            int bp = bOff + j;
            for (int p = 0; p < depth; p++, bp += bStride) {
                s += a[aOff + p] * b[bp];
            }
            c[cOff + j] -= s;
        }
    }

    private static void store(double[] c, int at, DoubleVector low, DoubleVector high) {
        subtractInto(c, at, low);
        subtractInto(c, at + LANES, high);
    }

    private static void subtractInto(double[] c, int at, DoubleVector v) {
        DoubleVector.fromArray(DOUBLES, c, at).sub(v).intoArray(c, at);
    }

    /** y[0..length) -= s x[0..length): one row of a substitution, vectorized. */
    static void axpySubtract(double s, double[] x, int xOff, double[] y, int yOff, int length) {
        DoubleVector minusS = DoubleVector.broadcast(DOUBLES, -s);
        int j = 0;
        for (; j + LANES <= length; j += LANES) {
            DoubleVector yv = DoubleVector.fromArray(DOUBLES, y, yOff + j);
            DoubleVector.fromArray(DOUBLES, x, xOff + j).fma(minusS, yv).intoArray(y, yOff + j);
        }
        for (; j < length; j++) {
            y[yOff + j] -= s * x[xOff + j];
        }
    }
}
