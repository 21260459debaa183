package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;

/**
 * Spherical linear interpolation between the base and the one fine-tune {@code other = base + delta},
 * mergekit's {@code slerp} with the base as the first model:
 * <pre>
 * a = base / |base|, b = other / |other|   (flattened; a vector of norm <= 1e-8 is left unnormalized)
 * dot = &lt;a, b&gt;
 * |dot| > 0.9995:  result = (1 - t) * base + t * other                       (nearly colinear: lerp)
 * else:            theta = acos(dot)
 *                  result = sin((1 - t) theta) / sin(theta) * base + sin(t theta) / sin(theta) * other
 * </pre>
 * The coefficients come from the normalized copies but multiply the raw tensors, so t = 0 is the base and
 * t = 1 the fine-tune. The adapter's weight is not used ({@code t} is the ratio). Realign: {@code t} defaults
 * to 0.5 (mergekit requires it) and must lie in [0, 1].
 */
public final class Slerp implements MergeMethod {
    static final double DOT_THRESHOLD = 0.9995;
    static final double EPS = 1e-8;
    private static final List<ParameterSpec> PARAMETERS = List.of(ParameterSpec.real("t",
            "interpolation position: 0 is the base, 1 the fine-tune", 0.5, 0, true, 1, true));

    @Override
    public String name() {
        return "slerp";
    }

    @Override
    public String description() {
        return "spherical interpolation from the base (t = 0) to base + delta (t = 1)";
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
        return 1;
    }

    @Override
    public boolean usesWeights() {
        return false;
    }

    @Override
    public NDArray merge(TensorMerge input, MergeParameters params, NDManager manager) {
        Checks.inputs(this, input);
        Map<String, Object> p = params.resolve(this);
        double t = MergeParameters.real(p, "t");
        try (NDManager scope = Tensors.scope(manager, input.base())) {
            NDArray base = Tensors.fp32(input.base(), scope);
            NDArray other = base.add(Tensors.fp32(input.deltas().get(0), scope));
            double normA = Tensors.scalar(base.norm());
            double normB = Tensors.scalar(other.norm());
            NDArray product = base.mul(other);
            double dot = Tensors.scalar(product.sum());
            product.close();
            dot /= (normA > EPS ? normA : 1) * (normB > EPS ? normB : 1);
            double s0;
            double s1;
            if (Math.abs(dot) > DOT_THRESHOLD) {
                s0 = 1 - t;
                s1 = t;
            } else {
                double theta = Math.acos(dot);
                double sin = Math.sin(theta);
                s0 = Math.sin(theta - theta * t) / sin;
                s1 = Math.sin(theta * t) / sin;
            }
            NDArray result = other.muli((float) s1).addi(base.mul((float) s0));
            return Tensors.keep(result, manager);
        }
    }

    @Override
    public String toString() {
        return name();
    }
}
