package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One tensor's merge inputs.
 *
 * <p>{@code deltas.get(i)} is adapter i's weight delta against {@code base} ({@code m_i - base}; for a LoRA
 * adapter the caller has already formed {@code scale * B @ A}), of the same shape as {@code base}. Any
 * floating-point type is accepted for base and deltas; the methods compute in fp32. The arrays stay the
 * caller's: a method neither closes nor modifies them.
 *
 * @param tensorName the tensor's name in the checkpoint, used in error messages and to seed random masks
 * @param base       the base (aligned) tensor
 * @param deltas     one delta per adapter, in profile order (the order seeds random masks and decides roles
 *                   in {@code safety_vector} and {@code safe_lora})
 * @param weights    {@code w_i}, one per delta, finite
 * @param densities  {@code d_i}, one per delta, in (0, 1]; 1 means no sparsification. {@code null} means all 1
 */
public record TensorMerge(String tensorName, NDArray base, List<NDArray> deltas, double[] weights,
        double[] densities) {

    public TensorMerge {
        Objects.requireNonNull(tensorName, "tensorName");
        if (base == null) {
            throw new IllegalArgumentException("tensor " + tensorName + ": no base tensor");
        }
        if (deltas == null) {
            throw new IllegalArgumentException("tensor " + tensorName + ": no delta list");
        }
        deltas = List.copyOf(deltas);
        if (weights == null) {
            throw new IllegalArgumentException("tensor " + tensorName + ": no weights");
        }
        weights = weights.clone();
        densities = densities == null ? filled(deltas.size()) : densities.clone();
        checkFloat(tensorName, "base", base);
        Shape shape = base.getShape();
        for (int i = 0; i < deltas.size(); i++) {
            NDArray d = deltas.get(i);
            checkFloat(tensorName, "delta " + i, d);
            if (!d.getShape().equals(shape)) {
                throw new IllegalArgumentException("tensor " + tensorName + ": delta " + i + " has shape "
                        + d.getShape() + " but the base has shape " + shape);
            }
        }
        if (weights.length != deltas.size()) {
            throw new IllegalArgumentException("tensor " + tensorName + ": " + weights.length + " weights for "
                    + deltas.size() + " deltas");
        }
        if (densities.length != deltas.size()) {
            throw new IllegalArgumentException("tensor " + tensorName + ": " + densities.length
                    + " densities for " + deltas.size() + " deltas");
        }
        for (int i = 0; i < weights.length; i++) {
            if (!Double.isFinite(weights[i])) {
                throw new IllegalArgumentException("tensor " + tensorName + ": weight of adapter " + i + " is "
                        + weights[i] + " (must be finite)");
            }
            if (!(densities[i] > 0 && densities[i] <= 1)) {
                throw new IllegalArgumentException("tensor " + tensorName + ": density of adapter " + i + " is "
                        + densities[i] + " (must be in (0, 1])");
            }
        }
    }

    /** Inputs without sparsification (every density 1). */
    public TensorMerge(String tensorName, NDArray base, List<NDArray> deltas, double... weights) {
        this(tensorName, base, deltas, weights, null);
    }

    /** Number of adapters (deltas). */
    public int size() {
        return deltas.size();
    }

    @Override
    public double[] weights() {
        return weights.clone();
    }

    @Override
    public double[] densities() {
        return densities.clone();
    }

    /** {@code w_i} without copying the array. */
    public double weight(int i) {
        return weights[i];
    }

    /** {@code d_i} without copying the array. */
    public double density(int i) {
        return densities[i];
    }

    /** Same name, the same array objects (identity, never contents) and equal weights and densities. */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TensorMerge t) || !tensorName.equals(t.tensorName) || base != t.base
                || deltas.size() != t.deltas.size()) {
            return false;
        }
        for (int i = 0; i < deltas.size(); i++) {
            if (deltas.get(i) != t.deltas.get(i)) {
                return false;
            }
        }
        return Arrays.equals(weights, t.weights) && Arrays.equals(densities, t.densities);
    }

    @Override
    public int hashCode() {
        int h = Objects.hash(tensorName, System.identityHashCode(base), Arrays.hashCode(weights),
                Arrays.hashCode(densities));
        for (NDArray d : deltas) {
            h = 31 * h + System.identityHashCode(d);
        }
        return h;
    }

    @Override
    public String toString() {
        return "TensorMerge[" + tensorName + " " + base.getShape() + ", " + deltas.size() + " deltas, weights "
                + Arrays.toString(weights) + ", densities " + Arrays.toString(densities) + "]";
    }

    private static double[] filled(int n) {
        double[] d = new double[n];
        Arrays.fill(d, 1.0);
        return d;
    }

    private static void checkFloat(String tensorName, String what, NDArray a) {
        if (a == null) {
            throw new IllegalArgumentException("tensor " + tensorName + ": " + what + " is null");
        }
        DataType t = a.getDataType();
        if (!t.isFloating()) {
            throw new IllegalArgumentException("tensor " + tensorName + ": " + what + " has type " + t
                    + " (a floating-point type is required)");
        }
    }
}
