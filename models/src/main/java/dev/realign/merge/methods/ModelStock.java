package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Model Stock (Jang et al. 2024), mergekit's {@code model_stock}, over N >= 2 fine-tunes of the base:
 * <pre>
 * cos    = mean over pairs i &lt; j of clamp(&lt;delta_i, delta_j&gt; / max(|delta_i| |delta_j|, 1e-6), -1, 1)
 * t      = N cos / (1 + (N - 1) cos)
 * result = t * mean_i(m_i) + (1 - t) * base  =  base + t * mean_i(delta_i)
 * </pre>
 * over the flattened tensor, or per row ({@code filter_wise}: per slice along the last dimension; a 1-D
 * tensor is one row). Weights are not used (as in mergekit). Realign: where {@code |1 + (N - 1) cos| < 1e-5}
 * (the deltas cancel) t is unbounded (over 1e5); this is refused, naming the tensor, instead of writing
 * inf or noise.
 */
public final class ModelStock implements MergeMethod {
    /** Below this |1 + (N - 1) cos| (fp32 rounding of exactly opposite deltas reaches ~1e-7; 1e-5 leaves room), t is refused. */
    static final double SINGULAR = 1e-5;
    private static final List<ParameterSpec> PARAMETERS = List.of(ParameterSpec.bool("filter_wise",
            "compute the interpolation ratio per row (along the last dimension) instead of per tensor", false));

    @Override
    public String name() {
        return "model_stock";
    }

    @Override
    public String description() {
        return "base + t * mean delta, t from the mean pairwise cosine of the deltas (Model Stock)";
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
    public boolean usesWeights() {
        return false;
    }

    @Override
    public NDArray merge(TensorMerge input, MergeParameters params, NDManager manager) {
        Checks.inputs(this, input);
        Map<String, Object> p = params.resolve(this);
        boolean filterWise = MergeParameters.bool(p, "filter_wise");
        int n = input.size();
        Shape shape = input.base().getShape();
        try (NDManager scope = Tensors.scope(manager, input.base())) {
            List<NDArray> offsets = new ArrayList<>(n);
            List<NDArray> norms = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                NDArray d = Tensors.fp32(input.deltas().get(i), scope);
                NDArray rows = filterWise
                        ? (shape.dimension() <= 1 ? d.reshape(1, -1) : d.reshape(-1, shape.get(shape.dimension() - 1)))
                        : d.reshape(-1);
                offsets.add(rows);
                norms.add(rows.norm(new int[] {-1}, true));
            }
            NDArray cosSum = null;
            int pairs = 0;
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    NDArray product = offsets.get(i).mul(offsets.get(j));
                    NDArray dot = product.sum(new int[] {-1}, true);
                    product.close();
                    NDArray cos = dot.divi(norms.get(i).mul(norms.get(j)).maximum(1e-6f)).clip(-1, 1);
                    cosSum = cosSum == null ? cos : cosSum.addi(cos);
                    pairs++;
                }
            }
            NDArray cos = cosSum.divi((float) pairs);
            NDArray denominator = cos.mul((float) (n - 1)).addi(1f);
            if (denominator.abs().lt((float) SINGULAR).any().getBoolean()) {
                throw new IllegalArgumentException("method 'model_stock': the deltas of tensor "
                        + input.tensorName() + " cancel (mean pairwise cosine " + worst(cos, n)
                        + "), so t = N cos / (1 + (N - 1) cos) is unbounded (|1 + (N - 1) cos| < " + SINGULAR + ")");
            }
            NDArray t = cos.mul((float) n).divi(denominator);
            NDArray mean = null;
            for (NDArray o : offsets) {
                mean = mean == null ? o.duplicate() : mean.addi(o);
            }
            mean.divi((float) n);
            NDArray merged = mean.muli(t).reshape(shape).addi(Tensors.fp32(input.base(), scope));
            return Tensors.keep(merged, manager);
        }
    }

    private static double worst(NDArray cos, int n) {
        NDArray gap = cos.mul((float) (n - 1)).addi(1f).abs();
        long at = gap.reshape(-1).argMin().toType(DataType.INT64, false).getLong();
        return cos.reshape(-1).toType(DataType.FLOAT64, false).getDouble(at);
    }

    @Override
    public String toString() {
        return name();
    }
}
