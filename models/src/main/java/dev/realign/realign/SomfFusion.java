package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.realign.merge.methods.SeededUniforms;
import dev.realign.model.Scalars;
import dev.realign.model.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The fused model of SOMF: phi_safe + lambda * Merge_i(tau_i * m / mean(m)), Merge being task arithmetic, TIES or
 * DARE ({@link SomfMerge}) over the masked task vectors. The mean is per tensor, as in the authors'
 * {@code _apply_mask} ({@code v * mask / mask.mean()} for each state-dict entry): it keeps each tensor's expected
 * update size whatever fraction the mask keeps.
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
        return delta(taskVectors, masks, SomfMerge.TASK_ARITHMETIC, 1.0, 0, scale, scope);
    }

    /**
     * lambda * Merge_i(tau_i * m / mean(m)) per masked tensor (differentiable in the masks). A tensor whose mask is
     * all zeros (possible only for a binary mask) gets a zero delta: the 0/0 rescale is read as "nothing kept".
     *
     * @param taskVectors per adapter, tau_i per tensor; a tensor an adapter lacks counts as zero
     * @param masks       per tensor, the shared mask, shaped like the task vectors
     * @param mergeDensity for {@link SomfMerge#TIES}, the fraction of entries each trimmed vector keeps; for
     *                     {@link SomfMerge#DARE}, the keep probability
     * @param seed         DARE's drop pattern, with the tensor name and adapter index
     * @return per tensor of {@code masks}, in its order; arrays in {@code scope}
     */
    public static SequencedMap<String, NDArray> delta(List<? extends Map<String, NDArray>> taskVectors,
                                                       Map<String, NDArray> masks, SomfMerge merge,
                                                       double mergeDensity, long seed, double scale,
                                                       NDManager scope) {
        SequencedMap<String, NDArray> delta = new LinkedHashMap<>();
        for (var e : masks.entrySet()) {
            NDArray m = e.getValue();                                     // (out, in) or (n,)
            NDArray mean = m.mean();                                      // scalar
            boolean empty = !m.hasGradient() && !(mean.getFloat() > 0);
            List<NDArray> masked = new ArrayList<>();
            for (int i = 0; i < taskVectors.size(); i++) {
                NDArray t = taskVectors.get(i).get(e.getKey());
                if (t != null) {
                    // m first: a result belongs to its first operand's manager, and m lives in the step's scope
                    NDArray v = m.mul(t).div(mean);
                    if (merge == SomfMerge.DARE) {
                        NDArray keep = SeededUniforms.bernoulliMask(m.getManager(),
                                SeededUniforms.key(seed, e.getKey(), i), m.size(), mergeDensity)
                                .reshape(m.getShape()).toType(DataType.FLOAT32, false);
                        v = Scalars.div(v.mul(keep), mergeDensity);
                    }
                    masked.add(v);
                }
            }
            if (masked.isEmpty()) {
                throw new IllegalArgumentException("no task vector has tensor '" + e.getKey() + "'");
            }
            NDArray d;
            if (empty) {
                d = m.zerosLike();
            } else if (merge == SomfMerge.TIES) {
                d = ties(masked, mergeDensity);
            } else {
                d = masked.getFirst();
                for (NDArray v : masked.subList(1, masked.size())) {
                    d = d.add(v);
                }
            }
            if (scale != 1) {
                d = Scalars.mul(d, scale);
            }
            d.attach(scope);
            delta.put(e.getKey(), d);
        }
        return delta;
    }

    /** TIES over one tensor's masked vectors (all of one shape, in the mask's manager). */
    private static NDArray ties(List<NDArray> vectors, double density) {
        NDArray stacked = NDArrays.stack(new NDList(vectors));            // (adapters, ...tensor)
        NDArray trimmed = stacked;
        if (density < 1) {
            List<NDArray> kept = new ArrayList<>(vectors.size());
            for (NDArray v : vectors) {
                kept.add(v.abs().gte(threshold(v, density)).toType(DataType.FLOAT32, false));
            }
            trimmed = stacked.mul(NDArrays.stack(new NDList(kept)));      // (adapters, ...tensor)
        }
        NDArray sign = trimmed.sum(new int[] {0}).sign();                 // (...tensor), no gradient through sign
        // an entry agrees when it is nonzero and has the elected sign; an elected 0 (all zero) keeps nothing
        NDArray agree = trimmed.mul(sign).gt(0).toType(DataType.FLOAT32, false); // (adapters, ...tensor)
        NDArray count = agree.sum(new int[] {0}).maximum(1f);            // (...tensor)
        return trimmed.mul(agree).sum(new int[] {0}).div(count);
    }

    /** The magnitude of the ceil(density * n)-th largest entry: entries at least this large survive the trim. */
    private static float threshold(NDArray v, double density) {
        float[] magnitudes = v.abs().toFloatArray();
        int keep = (int) Math.ceil(density * magnitudes.length);
        Arrays.sort(magnitudes);
        return magnitudes[magnitudes.length - keep];
    }

    /** phi_safe + {@link #delta} (task arithmetic) as an overriding weights view. */
    public static Weights fuse(Weights safe, List<? extends Map<String, NDArray>> taskVectors,
                               Map<String, NDArray> masks, double scale, NDManager scope) {
        return fuse(safe, taskVectors, masks, SomfMerge.TASK_ARITHMETIC, 1.0, 0, scale, scope);
    }

    /** phi_safe + {@link #delta} as an overriding weights view. */
    public static Weights fuse(Weights safe, List<? extends Map<String, NDArray>> taskVectors,
                               Map<String, NDArray> masks, SomfMerge merge, double mergeDensity, long seed,
                               double scale, NDManager scope) {
        return safe.withDeltas(delta(taskVectors, masks, merge, mergeDensity, seed, scale, scope), scope);
    }
}
