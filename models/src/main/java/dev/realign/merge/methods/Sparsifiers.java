package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * The sparsifiers of generalized task arithmetic, over one delta tensor, after mergekit's {@code sparsify.py}
 * (differences are marked "Realign:").
 *
 * <p>Every method returns a new FLOAT32 array of the delta's shape, in the delta's manager, and frees its
 * temporaries; the input is neither modified nor closed. A density {@code >= 1} returns an unmasked copy
 * (no rescale), as in mergekit. The keep decision of each entry is made in one streaming pass in Java
 * ({@link FlatBlocks}); the tensor arithmetic stays in DJL.
 *
 * <p><b>Rescale</b> ({@code rescale=true}) is mergekit's L1-norm matching: {@code masked * (sum|delta| /
 * sum|masked|)}, skipped when either sum is below 1e-7 (Realign sums in double). It is not the DARE paper's
 * (or PEFT's) {@code 1/d} rescale, which matches the norm only in expectation.
 *
 * <p><b>Order of magnitudes.</b> Where a method ranks entries by {@code |delta|}, equal magnitudes are
 * ordered by flat (row-major) index, the lower index counting as larger: selections are exact (exactly k
 * entries) and deterministic. mergekit leaves the order of ties to torch's sort.
 */
public final class Sparsifiers {
    /** Below this L1 norm mergekit does not rescale. */
    static final double RESCALE_EPS = 1e-7;

    private Sparsifiers() {}

    /**
     * TIES's magnitude pruning: keeps the {@code k = floor(d * numel)} entries of largest {@code |delta|} over
     * the whole tensor. Realign: exactly k entries, ties by index (see the class comment); k = 0 keeps
     * nothing (mergekit refuses it).
     */
    public static NDArray magnitude(NDArray delta, double density, boolean rescale) {
        if (density >= 1) {
            return copy(delta);
        }
        return withScope(delta, d -> {
            long k = (long) Math.floor(density * d.size());
            Histogram h = Histogram.of(d);
            return masked(d, keepTop(d, h.select(d, k), null), rescale);
        });
    }

    /**
     * Model Breadcrumbs: sorts {@code |delta|} ascending and keeps ranks [n_bot, numel - n_top) where
     * {@code n_top = floor(gamma * numel)} and {@code n_bot = numel - floor(d * numel) - n_top} (if n_bot &lt; 0,
     * n_top += n_bot and n_bot = 0). Realign: when n_top is 0 the top ranks are kept (mergekit's slice
     * {@code [n_bot:-0]} is empty and zeroes the whole delta, as happens for any tensor under 1/gamma = 100
     * entries at the default gamma); ties by index.
     */
    public static NDArray magnitudeOutliers(NDArray delta, double density, double gamma, boolean rescale) {
        if (density >= 1) {
            return copy(delta);
        }
        return withScope(delta, d -> {
            long n = d.size();
            long target = (long) Math.floor(density * n);
            long nTop = (long) Math.floor(gamma * n);
            long nBot = n - target - nTop;
            if (nBot < 0) {
                nTop += nBot;
                nBot = 0;
            }
            Histogram h = Histogram.of(d);
            Cut keep = h.select(d, n - nBot);
            Cut drop = nTop > 0 ? h.select(d, nTop) : null;
            return masked(d, keepTop(d, keep, drop), rescale);
        });
    }

    /**
     * DARE's random drop: keeps each entry with probability {@code d}, the draws being {@link SeededUniforms}
     * of (seed, tensorName, adapterIndex). Realign: seeded (mergekit draws from torch's global generator).
     */
    public static NDArray random(NDArray delta, double density, boolean rescale, long seed, String tensorName,
            int adapterIndex) {
        if (density >= 1) {
            return copy(delta);
        }
        return withScope(delta, d -> {
            long key = SeededUniforms.key(seed, tensorName, adapterIndex);
            NDArray keep = SeededUniforms.bernoulliMask(d.getManager(), key, d.size(), density);
            return masked(d, keep, rescale);
        });
    }

    /**
     * DELLA's MagPrune as mergekit implements it: within each row (a 1-D tensor is one row; Realign: a tensor
     * of more than two dimensions is seen as (shape[0], rest), where mergekit ranks along dimension 1), rank
     * the entries by {@code |delta|} ascending from 0, {@code rank_norm = rank / (cols - 1)}, and keep with
     * probability {@code p = (d - epsilon) + rank_norm * 2 * epsilon}, evaluated in fp32 as
     * {@code (float) rank * (float) (2 epsilon / (cols - 1)) + (float) (d - epsilon)}, seeded like
     * {@link #random} ({@code keep = u_j < p}). Requires {@code 0 < d - epsilon} and {@code d + epsilon < 1}
     * when d &lt; 1. Realign: a row of one element keeps with probability d (mergekit divides 0 by 0).
     */
    public static NDArray dellaMagprune(NDArray delta, double density, double epsilon, boolean rescale, long seed,
            String tensorName, int adapterIndex) {
        if (density < 1 && (density - epsilon <= 0 || density + epsilon >= 1)) {
            throw new IllegalArgumentException("tensor " + tensorName + ", adapter " + adapterIndex
                    + ": della needs density - epsilon > 0 and density + epsilon < 1, got density " + density
                    + " and epsilon " + epsilon);
        }
        if (density >= 1) {
            return copy(delta);
        }
        return withScope(delta, d -> {
            Shape shape = d.getShape();
            long n = d.size();
            int cols = Math.toIntExact(shape.dimension() <= 1 ? n : n / shape.get(0));
            long key = SeededUniforms.key(seed, tensorName, adapterIndex);
            float step = cols > 1 ? (float) (2 * epsilon / (cols - 1)) : 0f;
            float low = cols > 1 ? (float) (density - epsilon) : (float) density;
            int rowsPerVisit = Math.max(1, (1 << 20) / Math.max(cols, 1));
            int visit = Math.toIntExact((long) rowsPerVisit * cols);
            int chunk = Math.toIntExact((long) visit * Math.max(1, FlatBlocks.DEFAULT_CHUNK / visit));
            FlatBlocks.MaskBuilder mask = new FlatBlocks.MaskBuilder(d.getManager(), n, chunk);
            long[] keys = new long[cols];
            int[] draws = new int[visit];
            byte[] flags = new byte[visit];
            FlatBlocks.scan(d, chunk, visit, (start, data, length) -> {
                SeededUniforms.draws(key, start, length, draws);
                for (int row = 0; row < length; row += cols) {
                    // ascending magnitude; among equal ones the higher column first (lower index = larger)
                    for (int c = 0; c < cols; c++) {
                        keys[c] = (long) (Float.floatToRawIntBits(data[row + c]) & 0x7FFFFFFF) << 32 | (cols - 1 - c);
                    }
                    Arrays.sort(keys);
                    for (int rank = 0; rank < cols; rank++) {
                        int at = row + cols - 1 - (int) keys[rank];
                        float p = (float) rank * step + low;
                        flags[at] = (byte) (draws[at] * 0x1p-24f < p ? 1 : 0);
                    }
                }
                mask.put(start, flags, length);
            });
            return masked(d, mask.build(), rescale);
        });
    }

    /**
     * A BOOLEAN mask of {@code x}'s shape, true at exactly the {@code min(max(k, 0), numel)} entries of largest
     * {@code |x|} (ties by index). In {@code x}'s manager.
     */
    public static NDArray topMagnitudeMask(NDArray x, long k) {
        NDManager owner = x.getManager();
        try (NDManager scope = owner.newSubManager()) {
            NDArray v = Tensors.fp32(x, scope);
            NDArray mask = keepTop(v, Histogram.of(v).select(v, k), null).reshape(v.getShape());
            return Tensors.keep(mask, owner);
        }
    }

    // ------------------------------------------------------------------ selection by magnitude

    /**
     * The top-k set by magnitude as a cut: an entry is in it when its magnitude bits exceed {@code bits}, or
     * equal them and it is among the first {@code ties} such entries in flat order.
     */
    record Cut(int bits, long ties) {
        static final Cut ALL = new Cut(-1, 0);
        static final Cut NONE = new Cut(Integer.MAX_VALUE, 0);
    }

    /**
     * Counts of the high 15 bits of {@code |x|}'s IEEE bits (sign cleared: for non-negative floats the bit
     * patterns order like the values, NaN above infinity).
     */
    static final class Histogram {
        final long[] high = new long[1 << 15];
        long n;

        static Histogram of(NDArray x) {
            Histogram h = new Histogram();
            h.n = x.size();
            FlatBlocks.scan(x, (start, data, length) -> {
                for (int i = 0; i < length; i++) {
                    h.high[(Float.floatToRawIntBits(data[i]) & 0x7FFFFFFF) >>> 16]++;
                }
            });
            return h;
        }

        /** The cut holding the k largest magnitudes; a second pass over the bucket of the k-th one. */
        Cut select(NDArray x, long k) {
            if (k <= 0) {
                return Cut.NONE;
            }
            if (k >= n) {
                return Cut.ALL;
            }
            long above = 0;
            int bucket = high.length - 1;
            while (above + high[bucket] < k) {
                above += high[bucket];
                bucket--;
            }
            long[] low = new long[1 << 16];
            int hb = bucket;
            FlatBlocks.scan(x, (start, data, length) -> {
                for (int i = 0; i < length; i++) {
                    int bits = Float.floatToRawIntBits(data[i]) & 0x7FFFFFFF;
                    if (bits >>> 16 == hb) {
                        low[bits & 0xFFFF]++;
                    }
                }
            });
            int l = low.length - 1;
            while (above + low[l] < k) {
                above += low[l];
                l--;
            }
            return new Cut(hb << 16 | l, k - above);
        }
    }

    /** The flat BOOLEAN mask of entries inside {@code keep} and outside {@code drop} (null: none dropped). */
    private static NDArray keepTop(NDArray d, Cut keep, Cut drop) {
        Cut dropCut = drop == null ? Cut.NONE : drop;
        FlatBlocks.MaskBuilder mask = new FlatBlocks.MaskBuilder(d.getManager(), d.size());
        byte[] flags = new byte[SeededUniforms.BLOCK];
        long[] seen = new long[2];
        FlatBlocks.scan(d, (start, data, length) -> {
            for (int i = 0; i < length; i++) {
                int bits = Float.floatToRawIntBits(data[i]) & 0x7FFFFFFF;
                boolean in = bits > keep.bits() || bits == keep.bits() && seen[0]++ < keep.ties();
                boolean out = bits > dropCut.bits() || bits == dropCut.bits() && seen[1]++ < dropCut.ties();
                flags[i] = (byte) (in && !out ? 1 : 0);
            }
            mask.put(start, flags, length);
        });
        return mask.build();
    }

    // ------------------------------------------------------------------ helpers

    /** {@code d * keep} (keep flat or shaped), L1-rescaled when asked. New array in d's manager. */
    static NDArray masked(NDArray d, NDArray keep, boolean rescale) {
        NDArray out = d.mul(keep.toDevice(d.getDevice(), false).reshape(d.getShape()));
        if (rescale) {
            double[] sums = new double[2];
            FlatBlocks.scan(d, (start, data, length) -> {
                double s = 0;
                for (int i = 0; i < length; i++) {
                    s += Math.abs(data[i]);
                }
                sums[0] += s;
            });
            FlatBlocks.scan(out, (start, data, length) -> {
                double s = 0;
                for (int i = 0; i < length; i++) {
                    s += Math.abs(data[i]);
                }
                sums[1] += s;
            });
            if (sums[0] >= RESCALE_EPS && sums[1] >= RESCALE_EPS) {
                out.muli((float) (sums[0] / sums[1]));
            }
        }
        return out;
    }

    private static NDArray copy(NDArray delta) {
        return withScope(delta, NDArray::duplicate);
    }

    /** Runs {@code body} on an fp32 view of {@code delta} in a scratch scope; the result moves to delta's manager. */
    private static NDArray withScope(NDArray delta, java.util.function.Function<NDArray, NDArray> body) {
        NDManager owner = delta.getManager();
        try (NDManager scope = owner.newSubManager(delta.getDevice())) {
            return Tensors.keep(body.apply(Tensors.fp32(delta, scope)), owner);
        }
    }
}
