package dev.realign.merge.methods;

import java.util.Locale;

/** How a generalized-task-arithmetic method sparsifies each delta (mergekit's {@code SparsificationMethod}). */
public enum Sparsifier {
    /** No sparsification (task arithmetic); densities must be 1. */
    NONE,
    /** Keep the {@code floor(d * numel)} entries of largest magnitude (TIES). */
    MAGNITUDE,
    /** Drop the {@code gamma} fraction of largest magnitudes and then the smallest, to density d (breadcrumbs). */
    MAGNITUDE_OUTLIERS,
    /** Keep each entry with probability d, seeded (DARE). */
    RANDOM,
    /** Keep each entry with a probability that grows with its magnitude rank in its row (DELLA). */
    DELLA_MAGPRUNE;

    /** mergekit's spelling: {@code magnitude}, {@code magnitude_outliers}, {@code random}, ... */
    public String spelling() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the sparsifier draws random numbers (and so takes a {@code seed}). */
    public boolean isRandom() {
        return this == RANDOM || this == DELLA_MAGPRUNE;
    }
}
