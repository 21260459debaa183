package dev.realign.realign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.realign.realign.MatrixProduct.View;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The vectorized C -= A B against a triple loop, on windows of awkward sizes inside larger arrays. */
class MatrixProductTest {
    @Property(tries = 60)
    void subtractsTheProductOfTheWindows(@ForAll @IntRange(min = 1, max = 23) int m,
                                         @ForAll @IntRange(min = 1, max = 41) int n,
                                         @ForAll @IntRange(min = 1, max = 19) int k,
                                         @ForAll @IntRange(min = 0, max = 5) int margin, @ForAll long seed) {
        check(m, n, k, margin, seed);
    }

    /** Sizes that cross the depth (128) and column (256) tiles and leave tails of every kind. */
    @Test
    void crossesTheTiles() {
        check(9, 531, 301, 3, 1);
        check(4, 256, 128, 0, 2);
        check(1, 17, 129, 1, 3);
    }

    private static void check(int m, int n, int k, int margin, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int aStride = k + margin;
        int bStride = n + 2 * margin;
        int cStride = n + margin;
        double[] a = gaussians(random, margin + m * aStride);
        double[] b = gaussians(random, margin + k * bStride);
        double[] c = gaussians(random, margin + m * cStride + margin);
        double[] expected = c.clone();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    sum += a[margin + i * aStride + p] * b[margin + p * bStride + j];
                }
                expected[margin + i * cStride + j] -= sum;
            }
        }
        MatrixProduct.subtract(new View(a, margin, aStride), new View(b, margin, bStride), new View(c, margin, cStride),
                m, n, k);
        for (int i = 0; i < c.length; i++) {
            assertThat(c[i]).as("C at %d", i).isCloseTo(expected[i], within(1e-12 * (k + Math.abs(expected[i]))));
        }
    }

    private static double[] gaussians(SplittableRandom random, int length) {
        double[] x = new double[length];
        for (int i = 0; i < length; i++) {
            x[i] = random.nextGaussian();
        }
        return x;
    }
}
