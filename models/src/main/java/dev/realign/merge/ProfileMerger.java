package dev.realign.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.realign.merge.methods.MergeMethod;
import dev.realign.merge.methods.MergeParameters;
import dev.realign.merge.methods.TensorMerge;
import dev.realign.model.LoraTerm;
import dev.realign.model.Weights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;

/**
 * Builds the weights of a profile from a base and its adapters' deltas, the same code for the server's
 * per-request profiles and the offline {@code merge} command. Two ways:
 * <ul>
 *   <li>unmerged: LINEAR / TASK_ARITHMETIC over LoRA adapters adds each adapter's factors to the forward,
 *       y = x W^T + sum_i c_i (x A_i^T) B_i^T, so any ratio costs no merge and no memory;</li>
 *   <li>materialized: every tensor some adapter touches is merged by the method, tensor by tensor, into
 *       the profile's manager in the base's dtype; every other tensor stays the base's (copy-on-write).</li>
 * </ul>
 */
public final class ProfileMerger {
    /** The adapters of one merge with their per-adapter weight and density. */
    public record Inputs(List<DeltaSource> adapters, double[] weights, double[] densities) {
        public Inputs {
            adapters = List.copyOf(adapters);
            weights = weights.clone();
            densities = densities.clone();
            if (weights.length != adapters.size() || densities.length != adapters.size()) {
                throw new IllegalArgumentException(adapters.size() + " adapters, " + weights.length + " weights, "
                        + densities.length + " densities");
            }
        }
    }

    /** What a materialized merge produced. */
    public record Materialized(Map<String, NDArray> overrides, long bytes) {}

    private ProfileMerger() {}

    /**
     * The coefficient of each adapter's LoRA term when the profile can be served unmerged, or null when it
     * cannot: the method is linear or task arithmetic, every adapter is LoRA-only (no modules_to_save
     * replacements) and no density sparsifies.
     */
    public static double[] unmergedCoefficients(MergeMethod method, MergeParameters params, Inputs inputs) {
        boolean additive = method.name().equals("linear") || method.name().equals("task_arithmetic");
        if (!additive) {
            return null;
        }
        for (int i = 0; i < inputs.adapters().size(); i++) {
            DeltaSource adapter = inputs.adapters().get(i);
            if (inputs.densities()[i] != 1 || adapter.kind() != AdapterKind.LORA) {
                return null;
            }
            for (String target : adapter.targets()) {
                if (adapter.lora(target).isEmpty()) {
                    return null;
                }
            }
        }
        SortedMap<String, Object> p = params.resolve(method);
        double lambda = p.containsKey("lambda") ? ((Number) p.get("lambda")).doubleValue() : 1;
        double divisor = 1;
        if (Boolean.TRUE.equals(p.get("normalize"))) {
            double sum = 0;
            for (double w : inputs.weights()) {
                sum += w;
            }
            divisor = Math.abs(sum) < 1e-8 ? 1 : sum; // mergekit: a vanishing weight sum is not divided by
        }
        double[] coefficients = new double[inputs.weights().length];
        for (int i = 0; i < coefficients.length; i++) {
            coefficients[i] = lambda * inputs.weights()[i] / divisor;
        }
        return coefficients;
    }

    /** The base view with each adapter's LoRA factors added at its coefficient (times the adapter's scale). */
    public static Weights unmerged(Weights base, List<DeltaSource> adapters, double[] coefficients) {
        Map<String, List<LoraTerm>> terms = new LinkedHashMap<>();
        for (int i = 0; i < adapters.size(); i++) {
            DeltaSource adapter = adapters.get(i);
            for (String target : adapter.targets()) {
                LoraFactors f = adapter.lora(target).orElseThrow();
                terms.computeIfAbsent(target, t -> new ArrayList<>())
                        .add(new LoraTerm(f.a(), f.b(), (float) (f.scale() * coefficients[i])));
            }
        }
        return base.withLora(terms);
    }

    /**
     * Merges every tensor any adapter touches. Results are in the base tensor's dtype, in {@code manager};
     * intermediates are freed tensor by tensor, so peak extra memory is a few tensors.
     */
    public static Materialized materialize(Weights base, MergeMethod method, MergeParameters params, Inputs inputs,
                                           NDManager manager) {
        Set<String> targets = new LinkedHashSet<>();
        for (DeltaSource adapter : inputs.adapters()) {
            targets.addAll(adapter.targets());
        }
        Map<String, NDArray> overrides = new LinkedHashMap<>();
        long bytes = 0;
        for (String name : base.tensors().keySet()) {
            if (!targets.contains(name)) {
                continue;
            }
            NDArray baseTensor = base.tensor(name);
            try (NDManager scope = manager.newSubManager()) {
                NDArray base32 = baseTensor.toType(DataType.FLOAT32, true);
                base32.attach(scope);
                List<NDArray> deltas = new ArrayList<>(inputs.adapters().size());
                for (DeltaSource adapter : inputs.adapters()) {
                    // An adapter that leaves this tensor alone contributes a zero delta (sign 0 in TIES).
                    deltas.add(adapter.targets().contains(name) ? adapter.delta(name, scope)
                            : scope.zeros(baseTensor.getShape(), DataType.FLOAT32));
                }
                NDArray merged = method.merge(new TensorMerge(name, base32, deltas, inputs.weights(),
                        inputs.densities()), params, scope);
                NDArray stored = merged.getDataType() == baseTensor.getDataType() ? merged
                        : merged.toType(baseTensor.getDataType(), false);
                stored.attach(manager);
                overrides.put(name, stored);
                bytes += stored.size() * stored.getDataType().getNumOfBytes();
            }
        }
        return new Materialized(overrides, bytes);
    }
}
