package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Generalized task arithmetic, the family of task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs,
 * breadcrumbs_ties, della and della_linear, as mergekit defines it. Per tensor:
 * <pre>
 * delta_i = sparsify(delta_i, d_i)                 (skipped when d_i = 1; see {@link Sparsifiers})
 * wd_i    = w_i * delta_i
 * with consensus:  majority = +1 where sum_i wd_i >= 0 else -1       ("sum"; "count": sum_i sign(wd_i) >= 0)
 *                  mask_i   = sign(wd_i) == majority                  (a zero never agrees)
 *                  mixed    = sum_i wd_i * mask_i;  divisor = sum_i w_i * mask_i, 0 -> 1
 * without:         mixed    = sum_i wd_i;           divisor = sum_i w_i, |divisor| < 1e-8 -> 1
 * if normalize: mixed /= divisor
 * result = base + lambda * mixed
 * </pre>
 * Random sparsifiers draw from {@link SeededUniforms} keyed by (seed, tensor name, adapter index).
 *
 * <p>Note what {@code normalize} means for one adapter: with consensus and normalize (ties, della), the
 * adapter's weight cancels where its delta is nonzero, so {@code ties} at weight 0.3 gives base + lambda *
 * sparsified delta, not base + 0.3 * delta. Use {@code lambda}, or {@code normalize=false}, to scale.
 */
public final class GeneralizedTaskArithmetic implements MergeMethod {
    private final String name;
    private final Sparsifier sparsifier;
    private final Consensus consensus;
    private final boolean defaultNormalize;
    private final boolean defaultRescale;
    private final List<ParameterSpec> parameters;

    /**
     * @param name             the method's name (mergekit's)
     * @param sparsifier       how each delta is sparsified ({@link Sparsifier#NONE} for none)
     * @param consensus        the default sign election, or {@code null} for a plain (disjoint-free) sum
     * @param defaultNormalize whether to divide by the (agreeing) weights unless the profile says otherwise
     * @param defaultRescale   whether sparsified deltas are L1-rescaled unless the profile says otherwise
     */
    public GeneralizedTaskArithmetic(String name, Sparsifier sparsifier, Consensus consensus,
            boolean defaultNormalize, boolean defaultRescale) {
        this.name = Objects.requireNonNull(name, "name");
        this.sparsifier = Objects.requireNonNull(sparsifier, "sparsifier");
        this.consensus = consensus;
        this.defaultNormalize = defaultNormalize;
        this.defaultRescale = defaultRescale;
        List<ParameterSpec> specs = new ArrayList<>();
        specs.add(ParameterSpec.real("lambda", "scale of the merged delta added to the base", 1.0,
                Double.NEGATIVE_INFINITY, false, Double.POSITIVE_INFINITY, false));
        specs.add(ParameterSpec.bool("normalize", "divide the merged delta by the sum of the (agreeing) weights",
                defaultNormalize));
        specs.add(ParameterSpec.bool("rescale",
                "after sparsifying, scale each delta back to its L1 norm (mergekit; not DARE's 1/density)",
                defaultRescale));
        specs.add(ParameterSpec.bool("int8_mask", "accepted for mergekit YAML compatibility; no effect", false));
        if (consensus != null) {
            List<String> choices = consensus == Consensus.SUM ? List.of("sum", "count") : List.of("count", "sum");
            specs.add(ParameterSpec.choice("majority_sign",
                    "sign election: sum (sign of the summed weighted deltas, TIES) or count (vote of signs)",
                    choices));
        }
        if (sparsifier == Sparsifier.MAGNITUDE_OUTLIERS) {
            specs.add(ParameterSpec.real("gamma", "fraction of largest-magnitude entries dropped as outliers",
                    0.01, 0, true, 1, false));
        }
        if (sparsifier == Sparsifier.DELLA_MAGPRUNE) {
            specs.add(ParameterSpec.real("epsilon",
                    "spread of keep probabilities around the density, by magnitude rank in the row",
                    0.15, 0, true, 0.5, false));
        }
        if (sparsifier.isRandom()) {
            specs.add(ParameterSpec.integer("seed",
                    "seed of the random masks (with the tensor name and adapter index)", 0));
        }
        this.parameters = List.copyOf(specs);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String description() {
        String sparse = switch (sparsifier) {
            case NONE -> "";
            case MAGNITUDE -> "keep the top-density magnitudes of each delta, ";
            case MAGNITUDE_OUTLIERS -> "drop each delta's gamma largest and smallest magnitudes down to density, ";
            case RANDOM -> "keep each delta entry with probability density (seeded), ";
            case DELLA_MAGPRUNE -> "keep each delta entry with a probability rising with its magnitude rank, ";
        };
        String mix = consensus == null ? "weighted sum" : "sign election and disjoint weighted mean";
        return "base + lambda * (" + sparse + mix + " of the deltas)";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return parameters;
    }

    @Override
    public int minAdapters() {
        return 1;
    }

    @Override
    public int maxAdapters() {
        return Integer.MAX_VALUE;
    }

    @Override
    public boolean usesDensity() {
        return sparsifier != Sparsifier.NONE;
    }

    public Sparsifier sparsifier() {
        return sparsifier;
    }

    /** The default sign election, or null without consensus. */
    public Consensus consensus() {
        return consensus;
    }

    public boolean defaultNormalize() {
        return defaultNormalize;
    }

    public boolean defaultRescale() {
        return defaultRescale;
    }

    @Override
    public NDArray merge(TensorMerge input, MergeParameters params, NDManager manager) {
        Checks.inputs(this, input);
        Map<String, Object> p = params.resolve(this);
        double lambda = MergeParameters.real(p, "lambda");
        boolean normalize = MergeParameters.bool(p, "normalize");
        boolean rescale = MergeParameters.bool(p, "rescale");
        Consensus election = consensus == null ? null : Consensus.parse(MergeParameters.choice(p, "majority_sign"));
        int n = input.size();
        String tensor = input.tensorName();
        try (NDManager scope = Tensors.scope(manager, input.base())) {
            // Large fresh arrays cost more (page faults) than the arithmetic: update in place where we own them.
            List<NDArray> weighted = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                NDArray d = Tensors.fp32(input.deltas().get(i), scope);
                double density = input.density(i);
                float w = (float) input.weight(i);
                NDArray wd = switch (sparsifier) {
                    case NONE -> d.mul(w);
                    case MAGNITUDE -> Sparsifiers.magnitude(d, density, rescale).muli(w);
                    case MAGNITUDE_OUTLIERS -> Sparsifiers.magnitudeOutliers(d, density,
                            MergeParameters.real(p, "gamma"), rescale).muli(w);
                    case RANDOM -> Sparsifiers.random(d, density, rescale, MergeParameters.integer(p, "seed"),
                            tensor, i).muli(w);
                    case DELLA_MAGPRUNE -> Sparsifiers.dellaMagprune(d, density,
                            MergeParameters.real(p, "epsilon"), rescale, MergeParameters.integer(p, "seed"),
                            tensor, i).muli(w);
                };
                if (election == null && !weighted.isEmpty()) {
                    weighted.getFirst().addi(wd); // plain sum: accumulate as we go
                    wd.close();
                } else {
                    weighted.add(wd);
                }
            }
            NDArray mixed;
            if (election == null) {
                mixed = weighted.getFirst();
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += input.weight(i);
                }
                if (normalize) {
                    mixed.divi((float) (Math.abs(sum) < 1e-8 ? 1 : sum));
                }
            } else {
                mixed = disjointMerge(weighted, input, election, normalize);
            }
            if (lambda != 1) {
                mixed.muli((float) lambda);
            }
            return Tensors.keep(mixed.addi(Tensors.fp32(input.base(), scope)), manager);
        }
    }

    /**
     * Sign election and disjoint merge over the weighted deltas (consumed: modified in place), returning the
     * (normalized when asked) mixed delta. With m = +1 where the vote is >= 0, else -1: an entry agrees where
     * {@code wd * m > 0}, so {@code sum_i max(wd_i * m, 0) * m} is the sum of the agreeing entries.
     */
    private static NDArray disjointMerge(List<NDArray> weighted, TensorMerge input, Consensus election,
            boolean normalize) {
        int n = weighted.size();
        NDArray majority = election == Consensus.SUM ? weighted.getFirst().duplicate() : weighted.getFirst().sign();
        for (int i = 1; i < n; i++) {
            NDArray wd = weighted.get(i);
            if (election == Consensus.SUM) {
                majority.addi(wd);
            } else {
                NDArray s = wd.sign();
                majority.addi(s);
                s.close();
            }
        }
        // sign(vote + 0.5 * sign(vote)) maps -k..-1 -> -1 and 0, 1..k -> +1: in place, no comparison array
        majority.signi().addi(0.5f).signi();
        NDArray mixed = null;
        NDArray divisor = null;
        for (int i = 0; i < n; i++) {
            NDArray wd = weighted.get(i).muli(majority);
            NDArray agrees = wd.gt(0f);
            wd.muli(agrees);
            if (normalize) {
                NDArray w = agrees.toType(DataType.FLOAT32, false).muli((float) input.weight(i));
                if (divisor == null) {
                    divisor = w;
                } else {
                    divisor.addi(w);
                    w.close();
                }
            }
            agrees.close();
            if (mixed == null) {
                mixed = wd;
            } else {
                mixed.addi(wd);
                wd.close();
            }
        }
        mixed.muli(majority);
        majority.close();
        if (divisor != null) {
            NDArray zero = divisor.eq(0f);
            divisor.addi(zero); // 0 -> 1
            zero.close();
            mixed.divi(divisor);
            divisor.close();
        }
        return mixed;
    }

    @Override
    public String toString() {
        return name;
    }
}
