package dev.realign.safety;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;

class LogisticRegressionTest {
    /** At the optimum the gradient of the regularized loss vanishes: sum (p - y) x + l2 w = 0, sum (p - y) = 0. */
    @Property(tries = 20)
    void theFitZeroesTheGradient(@ForAll @IntRange(min = 1, max = 1000) int seed,
                                 @ForAll @DoubleRange(min = 0.01, max = 10) double l2) {
        SplittableRandom random = new SplittableRandom(seed);
        int n = 60;
        int d = 5;
        float[][] x = new float[n][d];
        boolean[] y = new boolean[n];
        for (int i = 0; i < n; i++) {
            double z = 0;
            for (int j = 0; j < d; j++) {
                x[i][j] = (float) random.nextGaussian();
                z += (j - 2) * x[i][j];
            }
            y[i] = z + random.nextGaussian() > 0; // noisy labels: the data are not separable
        }
        LogisticRegression.Fit fit = LogisticRegression.fit(x, y, l2);
        double[] gradient = new double[d + 1];
        for (int i = 0; i < n; i++) {
            double z = fit.bias();
            for (int j = 0; j < d; j++) {
                z += fit.weights()[j] * x[i][j];
            }
            double residual = RefusalHead.sigmoid(z) - (y[i] ? 1 : 0);
            for (int j = 0; j < d; j++) {
                gradient[j] += residual * x[i][j];
            }
            gradient[d] += residual;
        }
        for (int j = 0; j < d; j++) {
            gradient[j] += l2 * fit.weights()[j];
        }
        for (double g : gradient) {
            assertThat(Math.abs(g)).isLessThan(1e-6);
        }
        // And the weights lean the way the labels were drawn.
        assertThat(fit.weights()[4]).isGreaterThan(fit.weights()[0]);
    }
}
