package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;

/**
 * RESTA / safety arithmetic (Bhardwaj et al. 2024): add a fine-tune, then push the weights further toward
 * safety along the direction that alignment moved them.
 * <pre>
 * result = base + w_0 * delta_0 - lambda * sum_{i >= 1} w_i * delta_i
 * </pre>
 * Roles by position: adapter 0 is the task fine-tune ({@code delta_0 = fine-tuned - aligned base}); every
 * further adapter is an <em>unsafe direction</em>, {@code delta_i = unaligned - aligned} (for example the
 * pre-alignment checkpoint against the aligned base), so subtracting it adds {@code lambda * w_i *
 * (aligned - unaligned)}, RESTA's safety vector. With one unsafe adapter at weight 1 and lambda = b this is
 * RESTA's {@code theta_sft + b * (theta_aligned - theta_unaligned)}.
 */
public final class SafetyVector implements MergeMethod {
    private static final List<ParameterSpec> PARAMETERS = List.of(ParameterSpec.real("lambda",
            "strength of the safety vector: how far to move against the unsafe directions", 1.0,
            Double.NEGATIVE_INFINITY, false, Double.POSITIVE_INFINITY, false));

    @Override
    public String name() {
        return "safety_vector";
    }

    @Override
    public String description() {
        return "base + w_0 * delta_0 - lambda * sum_{i>=1} w_i * delta_i (adapters after the first are unsafe"
                + " directions, unaligned - aligned)";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return PARAMETERS;
    }

    @Override
    public int minAdapters() {
        return 2;
    }

    @Override
    public int maxAdapters() {
        return Integer.MAX_VALUE;
    }

    @Override
    public NDArray merge(TensorMerge input, MergeParameters params, NDManager manager) {
        Checks.inputs(this, input);
        Map<String, Object> p = params.resolve(this);
        double lambda = MergeParameters.real(p, "lambda");
        try (NDManager scope = Tensors.scope(manager, input.base())) {
            NDArray acc = Tensors.fp32(input.deltas().get(0), scope).mul((float) input.weight(0));
            acc.addi(Tensors.fp32(input.base(), scope));
            for (int i = 1; i < input.size(); i++) {
                NDArray unsafe = Tensors.fp32(input.deltas().get(i), scope).mul((float) (lambda * input.weight(i)));
                acc.subi(unsafe);
                unsafe.close();
            }
            return Tensors.keep(acc, manager);
        }
    }

    @Override
    public String toString() {
        return name();
    }
}
