package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.realign.model.Scalars;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SplittableRandom;

/**
 * SOMF's shared mask: one logit per entry of each task-vector tensor (the granularity of the authors'
 * {@code ConcreteMask}, which keeps a logits tensor shaped like every masked parameter), relaxed to a concrete
 * (binary-concrete / relaxed Bernoulli) sample so it can be trained by gradient:
 * m = sigmoid((logit + log u - log(1 - u)) / T), u ~ U(0, 1).
 *
 * <p>The logistic noise is drawn in Java from a seeded generator rather than by libtorch so that a run is
 * reproducible, whatever libtorch's generator state.
 */
public final class ConcreteMask {
    private ConcreteMask() {}

    /**
     * One draw of logistic noise log u - log(1 - u) per entry, u strictly inside (0, 1).
     *
     * @return per tensor, fp32 with its shape, in {@code scope}
     */
    public static SequencedMap<String, NDArray> noise(Map<String, Shape> shapes, SplittableRandom random,
                                                       NDManager scope) {
        SequencedMap<String, NDArray> noise = new LinkedHashMap<>();
        for (var e : shapes.entrySet()) {
            float[] g = new float[Math.toIntExact(e.getValue().size())];
            for (int i = 0; i < g.length; i++) {
                // (k + 0.5) / 2^53 for a 53-bit k: never exactly 0 or 1, so both logs stay finite
                double u = ((random.nextLong() >>> 11) + 0.5) * 0x1.0p-53;
                g[i] = (float) (Math.log(u) - Math.log1p(-u));
            }
            noise.put(e.getKey(), scope.create(g, e.getValue()));
        }
        return noise;
    }

    /**
     * The relaxed sample sigmoid((logit + noise) / T), differentiable in the logits.
     *
     * @param logits per tensor, fp32 (any shape)
     * @param noise  {@link #noise} of the same shapes
     * @return per tensor, values in (0, 1), in {@code logits}' order
     */
    public static SequencedMap<String, NDArray> relaxed(Map<String, NDArray> logits, Map<String, NDArray> noise,
                                                         double temperature) {
        SequencedMap<String, NDArray> samples = new LinkedHashMap<>();
        for (var e : logits.entrySet()) {
            NDArray g = noise.get(e.getKey());
            samples.put(e.getKey(), Activation.sigmoid(Scalars.div(e.getValue().add(g), temperature)));
        }
        return samples;
    }

    /**
     * The serving mask, as the authors draw it: one relaxed sample thresholded at 0.5. Since the sigmoid is monotone
     * this is logit + noise > 0, i.e. a Bernoulli(sigmoid(logit)) draw, whatever the temperature.
     *
     * @return per tensor, fp32 0/1
     */
    public static SequencedMap<String, NDArray> binary(Map<String, NDArray> logits, Map<String, NDArray> noise,
                                                        double temperature) {
        SequencedMap<String, NDArray> masks = new LinkedHashMap<>();
        for (var e : relaxed(logits, noise, temperature).entrySet()) {
            masks.put(e.getKey(), e.getValue().gt(0.5).toType(DataType.FLOAT32, false));
        }
        return masks;
    }
}
