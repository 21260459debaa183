package dev.realign.merge.methods;

/** Input checks every method runs before merging. */
final class Checks {
    private Checks() {}

    /** Adapter count within the method's bounds and densities only where the method sparsifies. */
    static void inputs(MergeMethod method, TensorMerge input) {
        int n = input.size();
        int min = method.minAdapters();
        int max = method.maxAdapters();
        if (n < min || n > max) {
            String wanted = min == max ? "exactly " + min
                    : max == Integer.MAX_VALUE ? "at least " + min : "between " + min + " and " + max;
            throw new IllegalArgumentException("method '" + method.name() + "' merges " + wanted + " adapter"
                    + (min == 1 && max == 1 ? "" : "s") + ", tensor " + input.tensorName() + " has " + n);
        }
        if (!method.usesDensity()) {
            for (int i = 0; i < n; i++) {
                if (input.density(i) != 1) {
                    throw new IllegalArgumentException("method '" + method.name() + "' does not sparsify, but "
                            + "tensor " + input.tensorName() + " has density " + input.density(i) + " for adapter "
                            + i + " (leave density at 1, or use ties, dare_*, breadcrumbs* or della*)");
                }
            }
        }
    }
}
