package dev.realign.realign;

/**
 * The knobs of IRR (Wu et al. 2024, arXiv 2412.11041), with the defaults of the paper and of the authors'
 * script ({@code IRR/llama.py}: {@code --sparsity 0 --blocksize 128 --percdamp .01 --recalibrate 1}).
 *
 * @param sparsity        as the authors' {@code --sparsity}: within each column block, the fraction of the
 *                        candidate entries that is KEPT, the least safety-important ones;
 *                        {@code candidates - floor(candidates * sparsity)} are removed, the most important first.
 *                        0 (the default) removes every candidate. In [0, 1]; 1 removes nothing.
 * @param blockSize       columns per block, both for ranking candidates and for SparseGPT's lazy updates (128)
 * @param dampFraction    H gets {@code dampFraction * mean(diag H)} added to its diagonal (0.01)
 * @param removeOnly      ablation "w/o recalibration": removed entries are reset to the aligned value and the kept
 *                        deltas are left as they are (the authors' {@code --recalibrate 0})
 * @param removeMore      the authors' {@code --remove_more}: every entry is a candidate; sign-conflicting ones rank
 *                        above agreeing ones, conflicting by descending importance, agreeing by ascending importance,
 *                        so a sparsity above 0 keeps only the most important agreeing entries
 * @param fisherBatchSize safety sequences per gradient in the diagonal Fisher: 1 (the default) squares each
 *                        sequence's gradient of its mean answer NLL; the authors' script squares the gradient of the
 *                        mean NLL over batches of 8 padded sequences ({@code --batch_size 8}) and averages over batches
 */
public record IrrParameters(double sparsity, int blockSize, double dampFraction, boolean removeOnly,
                            boolean removeMore, int fisherBatchSize) {
    public static final IrrParameters DEFAULTS = new IrrParameters(0.0, 128, 0.01, false, false, 1);

    public IrrParameters {
        if (!(sparsity >= 0 && sparsity <= 1)) {
            throw new IllegalArgumentException("sparsity must be in [0, 1] (the fraction of candidates kept), got "
                    + sparsity);
        }
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize must be at least 1, got " + blockSize);
        }
        if (!(dampFraction > 0) || !Double.isFinite(dampFraction)) {
            throw new IllegalArgumentException("dampFraction must be positive and finite (the paper uses 0.01), got "
                    + dampFraction);
        }
        if (fisherBatchSize < 1) {
            throw new IllegalArgumentException("fisherBatchSize must be at least 1, got " + fisherBatchSize);
        }
    }

    public IrrParameters withSparsity(double value) {
        return new IrrParameters(value, blockSize, dampFraction, removeOnly, removeMore, fisherBatchSize);
    }

    public IrrParameters withBlockSize(int value) {
        return new IrrParameters(sparsity, value, dampFraction, removeOnly, removeMore, fisherBatchSize);
    }

    public IrrParameters withRemoveOnly(boolean value) {
        return new IrrParameters(sparsity, blockSize, dampFraction, value, removeMore, fisherBatchSize);
    }

    public IrrParameters withRemoveMore(boolean value) {
        return new IrrParameters(sparsity, blockSize, dampFraction, removeOnly, value, fisherBatchSize);
    }

    public IrrParameters withFisherBatchSize(int value) {
        return new IrrParameters(sparsity, blockSize, dampFraction, removeOnly, removeMore, value);
    }

    /** Whether the OBS column update compensates the removed entries (off in the remove-only ablation). */
    public boolean recalibrate() {
        return !removeOnly;
    }
}
