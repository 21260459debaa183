package dev.realign.realign;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Identify + Remove on hand-made blocks: exactly which entries go. */
class RemovalSelectorTest {
    // A (2, 3) block, row-major.
    //   delta:  +1  -2  +3  |  0   +5  -6
    //   safety: -1  -1  +1  | +1   -1  +1      -> conflicts at 0, 3 (zero vs +), 4, 5
    //   fisher:  .5  9   7  |  .1   4   3
    private static final double[] DELTA = {1, -2, 3, 0, 5, -6};
    private static final float[] SAFETY = {-1, -1, 1, 1, -1, 1};
    private static final float[] FISHER = {0.5f, 9, 7, 0.1f, 4, 3};

    @Test
    void sparsityZeroRemovesEveryConflictingEntryAndNothingElse() {
        boolean[] removed = RemovalSelector.select(DELTA, SAFETY, FISHER, 0.0, false);
        assertThat(removed).containsExactly(true, false, false, true, true, true);
        assertThat(RemovalSelector.conflicting(DELTA, SAFETY)).isEqualTo(4);
    }

    @Test
    void sparsityKeepsTheLeastImportantCandidates() {
        // 4 candidates, keep floor(4 * 0.5) = 2 of lowest Fisher (indices 3: 0.1 and 0: 0.5); remove 4 (4) and 5 (3).
        assertThat(RemovalSelector.select(DELTA, SAFETY, FISHER, 0.5, false))
                .containsExactly(false, false, false, false, true, true);
        // floor(4 * 0.8) = 3 kept: only the most important candidate (index 4, Fisher 4) goes.
        assertThat(RemovalSelector.select(DELTA, SAFETY, FISHER, 0.8, false))
                .containsExactly(false, false, false, false, true, false);
        assertThat(RemovalSelector.select(DELTA, SAFETY, FISHER, 1.0, false)).containsOnly(false);
    }

    @Test
    void removeMoreTakesAllConflictingThenTheLeastImportantAgreeingEntries() {
        // 6 candidates; keep floor(6 * 0.5) = 3: the agreeing entries with the highest Fisher come first in the
        // ascending order (scores -9, -7), then the conflicting one of lowest Fisher (index 3, 0.1).
        boolean[] removed = RemovalSelector.select(DELTA, SAFETY, FISHER, 0.5, true);
        assertThat(removed).containsExactly(true, false, false, false, true, true);
        // keep floor(6 * 0.2) = 1: only the most important agreeing entry (index 1, Fisher 9) survives.
        assertThat(RemovalSelector.select(DELTA, SAFETY, FISHER, 0.2, true))
                .containsExactly(true, false, true, true, true, true);
    }

    @Test
    void equalScoresRankInRowMajorOrder() {
        double[] delta = {1, 1, 1, 1};
        float[] safety = {-1, -1, -1, -1};
        float[] fisher = {2, 2, 2, 2};
        // keep floor(4 * 0.5) = 2: the first two in row-major order (a stable sort), remove the last two.
        assertThat(RemovalSelector.select(delta, safety, fisher, 0.5, false)).containsExactly(false, false, true, true);
    }

    @Test
    void zeroAgainstZeroAgreesAndNegativeZeroIsZero() {
        double[] delta = {0, -0.0, 0, 2};
        float[] safety = {0, 0, 1, 0};
        float[] fisher = {1, 1, 1, 1};
        assertThat(RemovalSelector.select(delta, safety, fisher, 0, false)).containsExactly(false, false, true, true);
    }

    @Test
    void rankingIsPerColumnBlock() {
        // (1, 4) matrix in two blocks of 2 columns, all conflicting; Fisher 1, 2 | 30, 40. At sparsity 0.5 each block
        // keeps its least important entry, so one entry per block goes even though block 2's Fisher dwarfs block 1's.
        double[] delta = {1, 1, 1, 1};
        float[] safety = {-1, -1, -1, -1};
        float[] fisher = {1, 2, 30, 40};
        IrrParameters p = IrrParameters.DEFAULTS.withSparsity(0.5).withBlockSize(2).withRemoveOnly(true);
        MatrixRealignment.Outcome out = MatrixRealignment.run("w", 1, 4, delta, safety, fisher, null, p);
        assertThat(out.removed()).containsExactly(false, true, false, true);
        assertThat(out.delta()).containsExactly(1, 0, 1, 0);
    }
}
