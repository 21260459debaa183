package dev.realign.realign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The upper Cholesky factor of H^-1 against the textbook route, in double precision. */
class InverseCholeskyTest {
    @Property(tries = 40)
    void matchesCholeskyOfTheGaussJordanInverse(@ForAll @IntRange(min = 1, max = 12) int n, @ForAll long seed) {
        double[] h = randomSpd(n, seed);
        double[] u = InverseCholesky.upperOfInverse(h, n, "h");
        double[] expected = Reference.transpose(Reference.cholesky(Reference.inverse(h, n), n), n);
        for (int i = 0; i < n * n; i++) {
            assertThat(u[i]).as("U[%d][%d]", i / n, i % n).isCloseTo(expected[i], within(1e-9 * (1 + Math.abs(expected[i]))));
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                assertThat(u[i * n + j]).isZero();
            }
        }
    }

    @Test
    void notPositiveDefiniteNamesTheTensor() {
        double[] h = {1, 2, 2, 1}; // eigenvalues 3 and -1
        assertThatThrownBy(() -> InverseCholesky.upperOfInverse(h, 2, "model.layers.0.mlp.up_proj.weight"))
                .isInstanceOf(ArithmeticException.class)
                .hasMessageContaining("model.layers.0.mlp.up_proj.weight")
                .hasMessageContaining("not positive definite");
    }

    /** A A^T + n I for a random A: well conditioned and symmetric positive definite. */
    static double[] randomSpd(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double[] a = new double[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = random.nextGaussian();
        }
        double[] h = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = i == j ? n : 0;
                for (int k = 0; k < n; k++) {
                    s += a[i * n + k] * a[j * n + k];
                }
                h[i * n + j] = s;
            }
        }
        return h;
    }
}
