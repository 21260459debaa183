package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;

/**
 * Linear interpolation of fine-tunes toward the base, in Realign's per-request meaning:
 * <pre>
 * result = base + sum_i w_i * delta_i                       (normalize = false, the default)
 * result = base + (sum_i w_i * delta_i) / sum_i w_i         (normalize = true)
 * </pre>
 * With one adapter at weight r, {@code base + r * delta}: r = 0 is the aligned base, r = 1 the fine-tune,
 * r = 0.7 is Farn et al.'s {@code 0.3 * theta_pre + 0.7 * theta_post}. This is mergekit's {@code linear}
 * over the models [base with weight {@code 1 - sum w_i}, m_1 .. m_n with w_i], normalized; and with
 * {@code normalize = true} it is exactly mergekit's {@code linear} (normalized) over m_1 .. m_n, whatever the
 * base. mergekit's {@code linear} without normalization over full models, {@code sum_i w_i m_i}, is not a
 * base-plus-delta formula: {@link #mergekit} computes it for the offline {@code merge} command.
 */
public final class Linear implements MergeMethod {
    private static final List<ParameterSpec> PARAMETERS = List.of(ParameterSpec.bool("normalize",
            "divide the weighted sum of deltas by the sum of the weights (mergekit's normalized linear)",
            false));

    @Override
    public String name() {
        return "linear";
    }

    @Override
    public String description() {
        return "base + sum_i w_i * delta_i (one adapter at weight r: the ratio r between aligned and fine-tuned)";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return PARAMETERS;
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
    public NDArray merge(TensorMerge input, MergeParameters params, NDManager manager) {
        Checks.inputs(this, input);
        Map<String, Object> p = params.resolve(this);
        boolean normalize = MergeParameters.bool(p, "normalize");
        double sum = 0;
        for (int i = 0; i < input.size(); i++) {
            sum += input.weight(i);
        }
        if (normalize && Math.abs(sum) < 1e-8) {
            throw new IllegalArgumentException("method 'linear' with normalize: the weights of tensor "
                    + input.tensorName() + " sum to " + sum + ", cannot divide by it");
        }
        try (NDManager scope = Tensors.scope(manager, input.base())) {
            NDArray mixed = null;
            for (int i = 0; i < input.size(); i++) {
                NDArray wd = Tensors.fp32(input.deltas().get(i), scope).mul((float) input.weight(i));
                if (mixed == null) {
                    mixed = wd;
                } else {
                    mixed.addi(wd);
                    wd.close();
                }
            }
            if (normalize) {
                mixed.divi((float) sum);
            }
            return Tensors.keep(mixed.addi(Tensors.fp32(input.base(), scope)), manager);
        }
    }

    /**
     * mergekit's {@code linear} over full models: {@code sum_i w_i * m_i}, divided by {@code sum_i w_i} when
     * {@code normalize} (mergekit's default). FLOAT32, in {@code manager}, on the first model's device.
     *
     * @throws IllegalArgumentException naming the tensor on no models, a weight count other than the model
     *     count, a non-finite weight, mismatched shapes, or weights summing to 0 with normalize
     */
    public static NDArray mergekit(String tensorName, List<NDArray> models, double[] weights, boolean normalize,
            NDManager manager) {
        if (models.isEmpty()) {
            throw new IllegalArgumentException("tensor " + tensorName + ": linear needs at least one model");
        }
        if (weights.length != models.size()) {
            throw new IllegalArgumentException("tensor " + tensorName + ": " + weights.length + " weights for "
                    + models.size() + " models");
        }
        Shape shape = models.get(0).getShape();
        double sum = 0;
        for (int i = 0; i < models.size(); i++) {
            if (!models.get(i).getShape().equals(shape)) {
                throw new IllegalArgumentException("tensor " + tensorName + ": model " + i + " has shape "
                        + models.get(i).getShape() + " but model 0 has shape " + shape);
            }
            if (!Double.isFinite(weights[i])) {
                throw new IllegalArgumentException("tensor " + tensorName + ": weight of model " + i + " is "
                        + weights[i] + " (must be finite)");
            }
            sum += weights[i];
        }
        if (normalize && sum == 0) {
            throw new IllegalArgumentException("tensor " + tensorName + ": linear with normalize, but the weights "
                    + "sum to 0");
        }
        try (NDManager scope = Tensors.scope(manager, models.get(0))) {
            NDArray acc = null;
            for (int i = 0; i < models.size(); i++) {
                NDArray wm = Tensors.fp32(models.get(i), scope).mul((float) weights[i]);
                if (acc == null) {
                    acc = wm;
                } else {
                    acc.addi(wm);
                    wm.close();
                }
            }
            if (normalize) {
                acc.divi((float) sum);
            }
            return Tensors.keep(acc, manager);
        }
    }

    @Override
    public String toString() {
        return name();
    }
}
