package dev.realign.realign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
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

    /** The blocked factorization and inverse against the plain loops, with block sizes that divide n or don't. */
    @Property(tries = 60)
    void blockedEqualsTheStraightforwardLoops(@ForAll @IntRange(min = 1, max = 70) int n,
                                              @ForAll @IntRange(min = 1, max = 17) int block, @ForAll long seed) {
        assertMatchesStraightforward(n, block, seed);
    }

    @Test
    void blockedEqualsTheStraightforwardLoopsAcrossFullBlocks() {
        assertMatchesStraightforward(300, InverseCholesky.BLOCK, 5); // 128 + 128 + 44
        assertMatchesStraightforward(256, InverseCholesky.BLOCK, 6);
        assertMatchesStraightforward(129, InverseCholesky.BLOCK, 7);
    }

    private static void assertMatchesStraightforward(int n, int block, long seed) {
        double[] h = randomSpd(n, seed);
        double[] expected = Straightforward.upperOfInverse(h, n);
        double[] u = InverseCholesky.upperOfInverseInPlace(h.clone(), n, "h", block, Cancellation.NEVER);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double e = expected[i * n + j];
                if (j < i) {
                    assertThat(u[i * n + j]).as("U[%d][%d], n %d block %d", i, j, n, block).isZero();
                } else {
                    assertThat(u[i * n + j]).as("U[%d][%d], n %d block %d", i, j, n, block)
                            .isCloseTo(e, within(1e-10 * (1 + Math.abs(e))));
                }
            }
        }
    }

    @Test
    void cancellationIsCheckedBetweenBlocks() {
        int[] checks = {0};
        Cancellation afterThree = () -> ++checks[0] > 3;
        assertThatThrownBy(() -> InverseCholesky.upperOfInverseInPlace(randomSpd(40, 1), 40, "h", 4, afterThree))
                .isInstanceOf(CancellationException.class);
        assertThat(checks[0]).isEqualTo(4); // stopped at the fourth block of the factorization
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
