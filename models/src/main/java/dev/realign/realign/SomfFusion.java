package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.model.Weights;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The fused model of SOMF: phi_safe + lambda * sum_i tau_i * m / mean(m), task arithmetic over the masked task
 * vectors. The mean is per tensor, as in the authors' {@code _apply_mask} ({@code v * mask / mask.mean()} for
 * each state-dict entry): it keeps each tensor's expected update size whatever fraction the mask keeps.
 */
public final class SomfFusion {
    private SomfFusion() {}

    /**
     * lambda * sum_i tau_i * m / mean(m) per masked tensor (differentiable in the masks). A tensor whose mask is all
     * zeros (possible only for a binary mask) gets a zero delta: the 0/0 rescale is read as "nothing kept".
     *
     * @param taskVectors per adapter, tau_i per tensor; a tensor an adapter lacks counts as zero
     * @param masks       per tensor, the shared mask, shaped like the task vectors
     * @return per tensor of {@code masks}, in its order; arrays in {@code scope}
     */
    public static SequencedMap<String, NDArray> delta(List<? extends Map<String, NDArray>> taskVectors,
                                                       Map<String, NDArray> masks, double scale, NDManager scope) {
        SequencedMap<String, NDArray> delta = new LinkedHashMap<>();
        for (var e : masks.entrySet()) {
            NDArray m = e.getValue();                                     // (out, in) or (n,)
            NDArray sum = null;
            for (Map<String, NDArray> tau : taskVectors) {
                NDArray t = tau.get(e.getKey());
                if (t != null) {
                    // m first: a result belongs to its first operand's manager, and m lives in the step's scope
                    sum = sum == null ? m.mul(t) : sum.add(m.mul(t));
                }
            }
            if (sum == null) {
                throw new IllegalArgumentException("no task vector has tensor '" + e.getKey() + "'");
            }
            NDArray mean = m.mean();                                      // scalar
            NDArray d = m.hasGradient() || mean.getFloat() > 0 ? sum.div(mean) : sum.zerosLike();
            if (scale != 1) {
                d = d.mul(scale);
            }
            d.attach(scope);
            delta.put(e.getKey(), d);
        }
        return delta;
    }

    /** phi_safe + {@link #delta} as an overriding weights view. */
    public static Weights fuse(Weights safe, List<? extends Map<String, NDArray>> taskVectors,
                               Map<String, NDArray> masks, double scale, NDManager scope) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (var e : delta(taskVectors, masks, scale, scope).entrySet()) {
            NDArray w = safe.tensor(e.getKey()).add(e.getValue());
            w.attach(scope);
            tensors.put(e.getKey(), w);
        }
        return safe.withOverrides(tensors);
    }
}
