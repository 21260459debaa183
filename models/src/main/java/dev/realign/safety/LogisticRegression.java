package dev.realign.safety;

/**
 * L2-regularized logistic regression fitted by Newton's method (iteratively reweighted least squares), in
 * double precision. It minimizes {@code sum_i logloss(y_i, sigmoid(w . x_i + b)) + l2/2 * |w|^2} (the bias is
 * not penalized). The objective is strictly convex for l2 > 0, so Newton converges to the one optimum in a
 * handful of steps and the result depends only on the data: no learning rate, no seed.
 */
final class LogisticRegression {
    /** @param weights (dimension) @param bias the intercept @param iterations Newton steps taken */
    record Fit(double[] weights, double bias, int iterations, double loss) {}

    private LogisticRegression() {}

    static Fit fit(float[][] x, boolean[] y, double l2) {
        if (x.length == 0 || x.length != y.length) {
            throw new IllegalArgumentException("need as many labels as rows, and at least one: " + x.length + " rows, "
                    + y.length + " labels");
        }
        if (!(l2 > 0)) {
            throw new IllegalArgumentException("l2 must be positive, got " + l2);
        }
        int n = x.length;
        int d = x[0].length;
        int p = d + 1; // parameters: weights then bias
        double[] theta = new double[p];
        double previous = Double.POSITIVE_INFINITY;
        for (int iteration = 1; iteration <= 50; iteration++) {
            double[] gradient = new double[p];
            double[][] hessian = new double[p][p];
            double loss = 0;
            double[] row = new double[p];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < d; j++) {
                    row[j] = x[i][j];
                }
                row[d] = 1;
                double z = 0;
                for (int j = 0; j < p; j++) {
                    z += theta[j] * row[j];
                }
                double prob = RefusalHead.sigmoid(z);
                double target = y[i] ? 1 : 0;
                // log(1 + e^z) - target * z, stable for large |z|
                loss += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - target * z;
                double residual = prob - target;
                double weight = prob * (1 - prob);
                for (int j = 0; j < p; j++) {
                    gradient[j] += residual * row[j];
                    double wj = weight * row[j];
                    for (int k = 0; k <= j; k++) {
                        hessian[j][k] += wj * row[k];
                    }
                }
            }
            for (int j = 0; j < d; j++) {
                gradient[j] += l2 * theta[j];
                hessian[j][j] += l2;
                loss += 0.5 * l2 * theta[j] * theta[j];
            }
            hessian[d][d] += 1e-9; // keeps the system definite if every probability saturates
            double[] step = solveSymmetric(hessian, gradient);
            for (int j = 0; j < p; j++) {
                theta[j] -= step[j];
            }
            if (Math.abs(previous - loss) <= 1e-10 * Math.max(1, Math.abs(loss))) {
                double[] w = java.util.Arrays.copyOf(theta, d);
                return new Fit(w, theta[d], iteration, loss);
            }
            previous = loss;
        }
        throw new IllegalStateException("logistic regression did not converge in 50 Newton steps");
    }

    /** Solves A s = b for symmetric positive definite A given by its lower triangle (Cholesky). */
    private static double[] solveSymmetric(double[][] a, double[] b) {
        int p = b.length;
        double[][] l = new double[p][p];
        for (int j = 0; j < p; j++) {
            double diagonal = a[j][j];
            for (int k = 0; k < j; k++) {
                diagonal -= l[j][k] * l[j][k];
            }
            if (!(diagonal > 0)) {
                throw new IllegalStateException("the Newton system is not positive definite at column " + j);
            }
            l[j][j] = Math.sqrt(diagonal);
            for (int i = j + 1; i < p; i++) {
                double sum = a[i][j];
                for (int k = 0; k < j; k++) {
                    sum -= l[i][k] * l[j][k];
                }
                l[i][j] = sum / l[j][j];
            }
        }
        double[] z = new double[p];
        for (int i = 0; i < p; i++) {
            double sum = b[i];
            for (int k = 0; k < i; k++) {
                sum -= l[i][k] * z[k];
            }
            z[i] = sum / l[i][i];
        }
        double[] s = new double[p];
        for (int i = p - 1; i >= 0; i--) {
            double sum = z[i];
            for (int k = i + 1; k < p; k++) {
                sum -= l[k][i] * s[k];
            }
            s[i] = sum / l[i][i];
        }
        return s;
    }
}
