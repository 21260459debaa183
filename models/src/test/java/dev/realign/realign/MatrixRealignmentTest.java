package dev.realign.realign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Remove + Recalibrate of one matrix against the classical-OBS reference, and IRR's invariants. */
class MatrixRealignmentTest {
    /** A random problem: delta, safety vector, Fisher, calibration inputs and their H = 2/n X^T X. */
    record Problem(int rows, int cols, double[] delta, float[] safety, float[] fisher, double[][] x, double[] h) {
        static Problem random(int rows, int cols, int tokens, long seed) {
            SplittableRandom random = new SplittableRandom(seed);
            double[] delta = new double[rows * cols];
            float[] safety = new float[rows * cols];
            float[] fisher = new float[rows * cols];
            for (int i = 0; i < delta.length; i++) {
                delta[i] = (float) random.nextGaussian(); // fp32 values, as the job reads them
                safety[i] = (float) random.nextGaussian();
                fisher[i] = (float) Math.abs(random.nextGaussian());
            }
            // Correlated features (a shared component), as real activations are, so compensation has something to use.
            double[][] x = new double[tokens][cols];
            for (double[] token : x) {
                double shared = random.nextGaussian();
                for (int c = 0; c < cols; c++) {
                    token[c] = shared + 0.5 * random.nextGaussian();
                }
            }
            double[] h = new double[cols * cols];
            for (double[] token : x) {
                for (int i = 0; i < cols; i++) {
                    for (int j = 0; j < cols; j++) {
                        h[i * cols + j] += 2.0 / tokens * token[i] * token[j];
                    }
                }
            }
            return new Problem(rows, cols, delta, safety, fisher, x, h);
        }

        MatrixRealignment.Outcome run(IrrParameters p) {
            return MatrixRealignment.run("w", rows, cols, delta, safety, fisher, h, p);
        }

        double error(double[] result) {
            double[] e = new double[delta.length];
            for (int i = 0; i < e.length; i++) {
                e[i] = delta[i] - result[i];
            }
            return Reference.outputError(e, rows, cols, x);
        }
    }

    @Property(tries = 30)
    void recalibrationMatchesClassicalObs(@ForAll @IntRange(min = 1, max = 6) int rows,
                                          @ForAll @IntRange(min = 1, max = 11) int cols,
                                          @ForAll @IntRange(min = 1, max = 5) int blockSize,
                                          @ForAll @IntRange(min = 0, max = 4) int sparsityTenths, @ForAll long seed) {
        Problem pr = Problem.random(rows, cols, 3 * cols, seed);
        IrrParameters p = IrrParameters.DEFAULTS.withBlockSize(blockSize).withSparsity(sparsityTenths / 10.0);
        double[] expected = Reference.realign(pr.delta(), rows, cols, pr.safety(), pr.fisher(),
                MatrixRealignment.damped(pr.h(), cols, p.dampFraction()), p.sparsity(), blockSize, true);
        double[] actual = pr.run(p).delta();
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("D'[%d][%d]", i / cols, i % cols)
                    .isCloseTo(expected[i], within(1e-9 * (1 + Math.abs(expected[i]))));
        }
    }

    @Property(tries = 30)
    void removeOnlyMatchesTheReferenceWithoutCompensation(@ForAll @IntRange(min = 1, max = 6) int rows,
                                                         @ForAll @IntRange(min = 1, max = 11) int cols,
                                                         @ForAll @IntRange(min = 1, max = 5) int blockSize,
                                                         @ForAll long seed) {
        Problem pr = Problem.random(rows, cols, 3 * cols, seed);
        IrrParameters p = IrrParameters.DEFAULTS.withBlockSize(blockSize).withRemoveOnly(true);
        double[] expected = Reference.realign(pr.delta(), rows, cols, pr.safety(), pr.fisher(), pr.h(), 0, blockSize,
                false);
        MatrixRealignment.Outcome out = MatrixRealignment.run("w", rows, cols, pr.delta(), pr.safety(), pr.fisher(),
                null, p);
        assertThat(out.delta()).containsExactly(expected);
        // At sparsity 0 without compensation, exactly the sign-conflicting entries of the delta are reset.
        for (int i = 0; i < expected.length; i++) {
            boolean conflicting = Math.signum(pr.delta()[i]) != Math.signum(pr.safety()[i]);
            assertThat(out.removed()[i]).as("removed[%d]", i).isEqualTo(conflicting);
            assertThat(out.delta()[i]).isEqualTo(conflicting ? 0 : pr.delta()[i]);
        }
    }

    /**
     * Recalibration lowers ||(W_ft - W') X|| against resetting the same entries without compensation. SparseGPT's
     * column-by-column OBS is greedy, not a least-squares solve over the kept entries: compensation pushed into a
     * later column that is itself removed afterwards is lost, and the columns fixed in between already carry their
     * share. So it is not a per-matrix theorem; with these strongly correlated inputs (pairwise correlation 0.8)
     * about 1% of random problems come out worse (measured: 4-5 of 400, worst by a factor 1.6). The test asserts
     * what holds: better in at least 95% of 300 seeded problems, and the summed error at most half.
     */
    @Test
    void recalibrationLowersTheOutputErrorOfRemoval() {
        int better = 0;
        int problems = 300;
        double totalBefore = 0;
        double totalAfter = 0;
        for (long seed = 0; seed < problems; seed++) {
            int rows = 2 + (int) (seed % 7);
            int cols = 4 + (int) (seed % 21);
            Problem pr = Problem.random(rows, cols, 4 * cols, seed);
            IrrParameters p = IrrParameters.DEFAULTS.withBlockSize(4).withSparsity((seed % 10) / 10.0);
            MatrixRealignment.Outcome recalibrated = pr.run(p);
            double[] removedOnly = new double[pr.delta().length]; // the same entries reset, nothing compensated
            for (int i = 0; i < removedOnly.length; i++) {
                removedOnly[i] = recalibrated.removed()[i] ? 0 : pr.delta()[i];
                if (recalibrated.removed()[i]) {
                    assertThat(recalibrated.delta()[i]).isZero();
                }
            }
            double before = pr.error(removedOnly);
            double after = pr.error(recalibrated.delta());
            if (after < before) {
                better++;
            }
            totalBefore += before;
            totalAfter += after;
        }
        assertThat(better).isGreaterThanOrEqualTo(problems * 95 / 100);
        assertThat(totalAfter).isLessThan(0.5 * totalBefore);
    }

    @Test
    void nothingRemovedAndNoRecalibrationGivesTheFineTunedDelta() {
        Problem pr = Problem.random(5, 9, 20, 7);
        MatrixRealignment.Outcome out = pr.run(IrrParameters.DEFAULTS.withSparsity(1).withRemoveOnly(true));
        assertThat(out.delta()).containsExactly(pr.delta());
        assertThat(out.removedCount()).isZero();
        // With recalibration on and nothing removed there is no error to spread: the delta is unchanged too.
        assertThat(pr.run(IrrParameters.DEFAULTS.withSparsity(1)).delta()).containsExactly(pr.delta());
    }

    @Test
    void outputErrorIsTheMeanSquaredOutputChangePerToken() {
        Problem pr = Problem.random(4, 7, 15, 3);
        double[] e = new double[pr.delta().length];
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < e.length; i++) {
            e[i] = random.nextGaussian();
        }
        assertThat(MatrixRealignment.outputError(e, 4, 7, pr.h()))
                .isCloseTo(Reference.outputError(e, 4, 7, pr.x()), within(1e-9));
    }

    @Test
    void aDeadColumnKeepsItsDelta() {
        Problem pr = Problem.random(3, 5, 12, 11);
        double[] h = pr.h().clone();
        for (int i = 0; i < 5; i++) { // feature 2 never active: its row and column of H are zero
            h[2 * 5 + i] = 0;
            h[i * 5 + 2] = 0;
        }
        MatrixRealignment.Outcome out = MatrixRealignment.run("w", 3, 5, pr.delta(), pr.safety(), pr.fisher(), h,
                IrrParameters.DEFAULTS.withSparsity(1));
        for (int r = 0; r < 3; r++) {
            assertThat(out.delta()[r * 5 + 2]).isEqualTo(pr.delta()[r * 5 + 2]);
        }
    }
}
