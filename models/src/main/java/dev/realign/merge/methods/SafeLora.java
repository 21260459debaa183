package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Safe LoRA (Hsu et al. 2024, arXiv 2405.16833), per tensor, in its threshold mode:
 * <pre>
 * D = delta_0 as (out, in)                          (the task adapter's delta, scale * B @ A)
 * V = -delta_1 as (out, in) = aligned - unaligned   (adapter 1: unaligned - aligned, the alignment direction)
 * C = V V^T / |V|_F                                 ((out, out); Safe LoRA's approximate projection)
 * P = C D
 * cos = &lt;P, D&gt; / max(|P| |D|, 1e-8)              (flattened)
 * result = base + w_0 * (cos &lt;= threshold ? P : D)
 * </pre>
 * A 1-D tensor is one column (n, 1), a tensor of more dimensions is (shape[0], rest). {@code C D} is computed
 * as {@code V (V^T D) / |V|_F} when {@code in < out}, which never forms the (out, out) matrix of a tall
 * tensor. The weight of adapter 1 is not used (only its direction). Where {@code |V|_F = 0} (alignment did
 * not move this tensor) the delta is kept.
 *
 * <p>Differences from the reference implementation (IBM/SafeLoRA): its default selection mode projects the
 * {@code num_proj_layers} layers of lowest cosine, a decision across tensors that a per-tensor method cannot
 * take (a caller can compute the cosines with {@link #projectionCosine} and pick); it rounds the cosine to 5 decimals;
 * its threshold default is 0.5, kept here.
 */
public final class SafeLora implements MergeMethod {
    private static final Logger LOG = LoggerFactory.getLogger(SafeLora.class);
    private static final List<ParameterSpec> PARAMETERS = List.of(ParameterSpec.real("threshold",
            "project the task delta onto the alignment subspace where its cosine with the projection is at most"
                    + " this", 0.5, -1, true, 1, true));

    @Override
    public String name() {
        return "safe_lora";
    }

    @Override
    public String description() {
        return "base + w_0 * delta_0, projected onto C = V V^T / |V|_F (V = aligned - unaligned, minus adapter 1)"
                + " where cos(C delta_0, delta_0) <= threshold";
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
        return 2;
    }

    @Override
    public NDArray merge(TensorMerge input, MergeParameters params, NDManager manager) {
        Checks.inputs(this, input);
        Map<String, Object> p = params.resolve(this);
        double threshold = MergeParameters.real(p, "threshold");
        try (NDManager scope = Tensors.scope(manager, input.base())) {
            NDArray task = Tensors.fp32(input.deltas().get(0), scope);
            NDArray projected = project(task, Tensors.fp32(input.deltas().get(1), scope));
            NDArray chosen = task;
            if (projected != null) {
                double cos = cosine(projected, task);
                boolean project = cos <= threshold;
                LOG.debug("safe_lora {}: cos {} -> {}", input.tensorName(), cos, project ? "projected" : "kept");
                if (project) {
                    chosen = projected.reshape(task.getShape());
                }
            }
            NDArray result = chosen.mul((float) input.weight(0)).addi(Tensors.fp32(input.base(), scope));
            return Tensors.keep(result, manager);
        }
    }

    /**
     * {@code C D} for D = {@code task} and V = {@code -unsafe} as matrices (see the class comment), in
     * task's manager, shaped as the matrix view; {@code null} when {@code |V|_F = 0}.
     */
    static NDArray project(NDArray task, NDArray unsafe) {
        Shape shape = task.getShape();
        long out = shape.dimension() == 0 ? 1 : shape.get(0);
        long in = task.size() / Math.max(out, 1);
        NDArray d = task.reshape(out, in);
        NDArray v = unsafe.neg().reshape(out, in);
        double frobenius = Tensors.scalar(v.norm());
        if (frobenius == 0 || !Double.isFinite(frobenius)) {
            return null;
        }
        NDArray cd = in < out
                ? v.matMul(v.transpose().matMul(d))
                : v.matMul(v.transpose()).matMul(d);
        return cd.divi((float) frobenius);
    }

    /**
     * Safe LoRA's layer score {@code cos(C D, D)} for a task delta and an unsafe direction (adapter 1's delta)
     * of one tensor, or NaN where {@code |V|_F = 0}. For callers that select layers across tensors (the
     * reference's {@code num_proj_layers} mode). Temporaries are freed.
     */
    public static double projectionCosine(NDArray taskDelta, NDArray unsafeDelta) {
        if (!taskDelta.getShape().equals(unsafeDelta.getShape())) {
            throw new IllegalArgumentException("safe_lora: task delta shape " + taskDelta.getShape()
                    + " differs from unsafe delta shape " + unsafeDelta.getShape());
        }
        try (NDManager scope = taskDelta.getManager().newSubManager(taskDelta.getDevice())) {
            NDArray task = Tensors.fp32(taskDelta, scope);
            NDArray projected = project(task, Tensors.fp32(unsafeDelta, scope));
            return projected == null ? Double.NaN : cosine(projected, task);
        }
    }

    /** The cosine of two same-size tensors, flattened: {@code <a, b> / max(|a| |b|, 1e-8)}. */
    static double cosine(NDArray a, NDArray b) {
        double dot = Tensors.scalar(a.reshape(-1).mul(b.reshape(-1)).sum());
        double norms = Tensors.scalar(a.norm()) * Tensors.scalar(b.norm());
        return dot / Math.max(norms, 1e-8);
    }

    @Override
    public String toString() {
        return name();
    }
}
