package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The sparsifiers of generalized task arithmetic, over one delta tensor, after mergekit's {@code sparsify.py}
 * (differences are marked "Realign:").
 *
 * <p>Every method returns a new FLOAT32 array of the delta's shape, in the delta's manager, and frees its
 * temporaries; the input is neither modified nor closed. A density {@code >= 1} returns an unmasked copy
 * (no rescale), as in mergekit.
 *
 * <p><b>Rescale</b> ({@code rescale=true}) is mergekit's L1-norm matching: {@code masked * (sum|delta| /
 * sum|masked|)}, skipped when either sum is below 1e-7. It is not the DARE paper's (or PEFT's) {@code 1/d}
 * rescale, which matches the norm only in expectation; L1 matching restores it exactly for each tensor.
 */
public final class Sparsifiers {
    /** Below this L1 norm mergekit does not rescale. */
    static final double RESCALE_EPS = 1e-7;

    private Sparsifiers() {}

    /**
     * TIES's magnitude pruning: keeps the {@code k = floor(d * numel)} entries of largest {@code |delta|} over
     * the whole tensor. Realign: ties at the k-th magnitude are broken by the lower flat (row-major) index, so
     * exactly k entries are kept, deterministically (mergekit: torch.argsort's order; it also refuses k = 0,
     * where Realign keeps nothing).
     */
    public static NDArray magnitude(NDArray delta, double density, boolean rescale) {
        try (NDManager scope = delta.getManager().newSubManager()) {
            NDArray d = Tensors.fp32(delta, scope);
            NDArray out;
            if (density >= 1) {
                out = d.duplicate();
            } else {
                long k = (long) Math.floor(density * d.size());
                out = masked(d, topMagnitudeMask(d, k), rescale);
            }
            return Tensors.keep(out, delta.getManager());
        }
    }

    /**
     * Model Breadcrumbs: sorts {@code |delta|} ascending and keeps ranks [n_bot, numel - n_top) where
     * {@code n_top = floor(gamma * numel)} and {@code n_bot = numel - floor(d * numel) - n_top} (if n_bot &lt; 0,
     * n_top += n_bot and n_bot = 0). Realign: when n_top is 0 the top ranks are kept (mergekit's slice
     * {@code [n_bot:-0]} is empty and zeroes the whole delta), and ties are broken by flat index as in
     * {@link #magnitude}.
     */
    public static NDArray magnitudeOutliers(NDArray delta, double density, double gamma, boolean rescale) {
        try (NDManager scope = delta.getManager().newSubManager()) {
            NDArray d = Tensors.fp32(delta, scope);
            NDArray out;
            if (density >= 1) {
                out = d.duplicate();
            } else {
                long n = d.size();
                long target = (long) Math.floor(density * n);
                long nTop = (long) Math.floor(gamma * n);
                long nBot = n - target - nTop;
                if (nBot < 0) {
                    nTop += nBot;
                    nBot = 0;
                }
                NDArray keep = topMagnitudeMask(d, n - nBot);
                if (nTop > 0) {
                    keep = keep.logicalAnd(topMagnitudeMask(d, nTop).logicalNot());
                }
                out = masked(d, keep, rescale);
            }
            return Tensors.keep(out, delta.getManager());
        }
    }

    /**
     * DARE's random drop: keeps each entry with probability {@code d}, the draws being {@link SeededUniforms}
     * of (seed, tensorName, adapterIndex). Realign: seeded (mergekit draws from torch's global generator).
     */
    public static NDArray random(NDArray delta, double density, boolean rescale, long seed, String tensorName,
            int adapterIndex) {
        try (NDManager scope = delta.getManager().newSubManager()) {
            NDArray d = Tensors.fp32(delta, scope);
            NDArray out;
            if (density >= 1) {
                out = d.duplicate();
            } else {
                long key = SeededUniforms.key(seed, tensorName, adapterIndex);
                NDArray keep = SeededUniforms.bernoulliMask(scope, key, d.size(), density)
                        .toDevice(d.getDevice(), false)
                        .reshape(d.getShape());
                out = masked(d, keep, rescale);
            }
            return Tensors.keep(out, delta.getManager());
        }
    }

    /**
     * DELLA's MagPrune as mergekit implements it: within each row (a 1-D tensor is one row; Realign: a tensor
     * of more than two dimensions is seen as (shape[0], rest), where mergekit ranks along dimension 1), rank
     * the entries by {@code |delta|} ascending, {@code rank_norm = rank / (cols - 1)} in [0, 1], keep with
     * probability {@code p = d - epsilon + 2 * epsilon * rank_norm}, seeded like {@link #random}. Requires
     * {@code 0 < d - epsilon} and {@code d + epsilon < 1} when d &lt; 1. Realign: a row of one element keeps
     * with probability d (mergekit divides 0 by 0).
     */
    public static NDArray dellaMagprune(NDArray delta, double density, double epsilon, boolean rescale, long seed,
            String tensorName, int adapterIndex) {
        if (density < 1 && (density - epsilon <= 0 || density + epsilon >= 1)) {
            throw new IllegalArgumentException("tensor " + tensorName + ", adapter " + adapterIndex
                    + ": della needs density - epsilon > 0 and density + epsilon < 1, got density " + density
                    + " and epsilon " + epsilon);
        }
        try (NDManager scope = delta.getManager().newSubManager()) {
            NDArray d = Tensors.fp32(delta, scope);
            NDArray out;
            if (density >= 1) {
                out = d.duplicate();
            } else {
                Shape shape = d.getShape();
                long rows = shape.dimension() <= 1 ? 1 : shape.get(0);
                long cols = d.size() / Math.max(rows, 1);
                NDArray prob;
                if (cols <= 1) {
                    prob = scope.full(new Shape(d.size()), (float) density);
                } else {
                    NDArray mags = d.abs().reshape(rows, cols);
                    NDArray order = mags.argSort(1, true);
                    NDArray ranks = order.argSort(1, true);
                    order.close();
                    prob = ranks.toType(DataType.FLOAT32, false)
                            .muli((float) (2 * epsilon / (cols - 1)))
                            .addi((float) (density - epsilon))
                            .reshape(-1);
                    ranks.close();
                }
                long key = SeededUniforms.key(seed, tensorName, adapterIndex);
                long n = d.size();
                NDList parts = new NDList();
                for (long start = 0; start < n; start += SeededUniforms.CHUNK) {
                    int count = (int) Math.min(SeededUniforms.CHUNK, n - start);
                    NDArray u = SeededUniforms.uniforms(scope, key, start, count).toDevice(d.getDevice(), false);
                    NDArray p = n == count ? prob : prob.get(new NDIndex("{}:{}", start, start + count));
                    parts.add(u.lt(p));
                    u.close();
                }
                NDArray keep = (parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts))
                        .reshape(shape);
                out = masked(d, keep, rescale);
            }
            return Tensors.keep(out, delta.getManager());
        }
    }

    /**
     * A BOOLEAN mask of {@code x}'s shape, true at exactly the {@code min(max(k, 0), numel)} entries of largest
     * {@code |x|}, ties at the k-th magnitude going to the lower flat index; except that when the k-th largest
     * magnitude is 0, only the nonzero entries are marked (a kept zero changes nothing, and there may be
     * millions of them). In {@code x}'s manager.
     */
    public static NDArray topMagnitudeMask(NDArray x, long k) {
        NDManager owner = x.getManager();
        try (NDManager scope = owner.newSubManager()) {
            NDArray v = Tensors.fp32(x, scope);
            long n = v.size();
            NDArray mask;
            if (k <= 0) {
                mask = scope.zeros(v.getShape(), DataType.BOOLEAN).toDevice(v.getDevice(), false);
            } else if (k >= n) {
                mask = scope.ones(v.getShape(), DataType.BOOLEAN).toDevice(v.getDevice(), false);
            } else {
                NDArray a = v.abs().reshape(-1);
                double tau = kthLargest(a, k);
                NDArray gt = a.gt(tau);
                if (tau == 0) {
                    mask = gt;
                } else {
                    long need = k - count(gt);
                    NDArray eq = a.eq(tau);
                    long ties = count(eq);
                    if (ties > need) {
                        // keep the first `need` tied entries: clear eq after the need-th one
                        NDArray at = eq.nonzero();
                        long last = at.getLong(need - 1, 0);
                        at.close();
                        eq.set(new NDIndex("{}:", last + 1), 0);
                    }
                    mask = gt.logicalOr(eq);
                }
                mask = mask.reshape(v.getShape());
            }
            return Tensors.keep(mask, owner);
        }
    }

    /** The k-th largest value of the flat array {@code a} (1 <= k < size), by a partial selection. */
    static double kthLargest(NDArray a, long k) {
        long n = a.size();
        NDList top;
        double tau;
        if (k <= n - k) {
            top = a.topK(Math.toIntExact(k), 0, true, false);
            tau = Tensors.scalar(top.get(0).min());
        } else {
            top = a.topK(Math.toIntExact(n - k + 1), 0, false, false);
            tau = Tensors.scalar(top.get(0).max());
        }
        top.close();
        return tau;
    }

    /** {@code d * keep}, L1-rescaled when asked (see the class comment). New array in d's manager. */
    static NDArray masked(NDArray d, NDArray keep, boolean rescale) {
        NDArray out = d.mul(keep.toType(DataType.FLOAT32, false));
        if (rescale) {
            double before = Tensors.scalar(d.abs().sum());
            double after = Tensors.scalar(out.abs().sum());
            if (before >= RESCALE_EPS && after >= RESCALE_EPS) {
                out.muli((float) (before / after));
            }
        }
        return out;
    }

    private static long count(NDArray bool) {
        return bool.countNonzero().toType(DataType.INT64, false).getLong();
    }
}
