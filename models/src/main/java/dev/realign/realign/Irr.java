package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.realign.model.LlamaModel;
import dev.realign.model.ProjectionKind;
import dev.realign.model.Weights;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.function.Consumer;

/**
 * IRR, "Identify, Remove, Recalibrate" (Wu et al. 2024, arXiv 2412.11041): restores a fine-tune's safety by
 * resetting the fine-tuning delta entries that work against the safety direction and are most important to
 * safety, then compensating the rest so the task behaviour survives.
 *
 * <ol>
 *   <li>Identify: delta = W_ft - W_a, safety vector v = W_a - W_u; candidates are entries with
 *       sign(delta) != sign(v); importance is the aligned model's diagonal Fisher on safe answers to harmful
 *       prompts ({@link SafetyFisher}).</li>
 *   <li>Remove: per block of {@code blockSize} columns, the most important candidates ({@link RemovalSelector}).</li>
 *   <li>Recalibrate: the Optimal-Brain-Surgeon column update of SparseGPT on the delta, with H = 2/n sum x x^T of
 *       each projection's calibration inputs ({@link MatrixRealignment}).</li>
 * </ol>
 *
 * <p>The seven projections of every layer are treated, layer by layer from the bottom, and within a layer in
 * SparseGPT's "true sequential" groups [q, k, v], [o], [gate, up], [down]: each group's inputs come from a forward
 * of the calibration data through everything edited so far, including the earlier groups of the same layer
 * ({@link LayerwiseCalibration}). (The authors' llama.py runs [v, q] for LoRA fine-tunes of q/v; a projection the
 * fine-tune did not change has a zero delta and nothing to remove, so it is skipped.)
 *
 * <p>The run is cancellable between tensors and between Fisher batches ({@link Cancellation}).
 */
public final class Irr {
    /** SparseGPT's true-sequential order within a layer; each group reads the outputs of the ones before. */
    static final List<Set<ProjectionKind>> GROUPS = List.of(
            EnumSet.of(ProjectionKind.Q, ProjectionKind.K, ProjectionKind.V),
            EnumSet.of(ProjectionKind.O),
            EnumSet.of(ProjectionKind.GATE, ProjectionKind.UP),
            EnumSet.of(ProjectionKind.DOWN));

    private final LlamaModel model;

    /** @param model the fp32 forward of the aligned model's architecture */
    public Irr(LlamaModel model) {
        if (model.matrixType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("IRR needs an fp32 model (load with dtype f32), got "
                    + model.matrixType());
        }
        this.model = model;
    }

    /**
     * @param parent   the manager the result's arrays and the run's scratch arrays are created under
     * @param progress told each stage's progress; called on the running thread
     * @return the realigned full delta and per-matrix statistics; the caller closes it
     */
    public IrrResult run(IrrInputs inputs, IrrParameters params, NDManager parent, Consumer<IrrProgress> progress,
                         Cancellation cancellation) {
        SequencedMap<String, Target> targets = validate(inputs, params);
        NDManager resultScope = parent.newSubManager();
        try (NDManager work = parent.newSubManager()) {
            SafetyFisher fisherComputation = new SafetyFisher(model, params.fisherBatchSize());
            int batches = (inputs.safety().size() + params.fisherBatchSize() - 1) / params.fisherBatchSize();
            Map<String, NDArray> fisher = fisherComputation.compute(inputs.aligned(), targets.keySet(), inputs.safety(),
                    work, done -> progress.accept(new IrrProgress(IrrProgress.Stage.FISHER, -1, null,
                            (double) done / batches)), cancellation);

            Weights aligned = inputs.aligned();
            Map<String, NDArray> current = new LinkedHashMap<>(); // W_a + delta as edited so far, every changed tensor
            for (var e : inputs.fineTunedDelta().entrySet()) {
                NDArray tuned = aligned.tensor(e.getKey()).add(e.getValue());
                tuned.attach(work);
                current.put(e.getKey(), tuned);
            }
            SequencedMap<String, NDArray> resultDelta = new LinkedHashMap<>();
            SequencedMap<String, IrrTensorStats> stats = new LinkedHashMap<>();
            int done = 0;
            try (LayerwiseCalibration calibration = inputs.calibration().isEmpty() ? null
                    : new LayerwiseCalibration(model, aligned.withOverrides(current), inputs.calibration(), work)) {
                int lastLayer = targets.values().stream().mapToInt(Target::layer).max().orElse(-1);
                for (int layer = 0; layer <= lastLayer; layer++) {
                    for (Set<ProjectionKind> group : GROUPS) {
                        Set<ProjectionKind> kinds = EnumSet.noneOf(ProjectionKind.class);
                        for (ProjectionKind kind : group) {
                            if (targets.containsKey(kind.weightName(layer))) {
                                kinds.add(kind);
                            }
                        }
                        if (kinds.isEmpty()) {
                            continue;
                        }
                        cancellation.check();
                        Map<ProjectionKind, double[]> hessians = calibration == null ? Map.of()
                                : calibration.hessians(aligned.withOverrides(current), kinds);
                        for (ProjectionKind kind : kinds) {
                            String name = kind.weightName(layer);
                            Realigned r = realign(name, inputs, fisher.get(name), hessians.get(kind), params,
                                    resultScope);
                            resultDelta.put(name, r.delta());
                            stats.put(name, r.stats());
                            NDArray tuned = aligned.tensor(name).add(r.delta());
                            tuned.attach(work);
                            current.put(name, tuned).close();
                            done++;
                            progress.accept(new IrrProgress(IrrProgress.Stage.REALIGN, layer, name,
                                    (double) done / targets.size()));
                        }
                    }
                    if (calibration != null && layer < lastLayer) {
                        cancellation.check();
                        calibration.advance(aligned.withOverrides(current));
                    }
                }
            }
            SequencedMap<String, NDArray> ordered = new LinkedHashMap<>();
            for (var e : inputs.fineTunedDelta().entrySet()) {
                NDArray d = resultDelta.get(e.getKey());
                if (d == null) { // not a projection: IRR leaves it as the fine-tune has it
                    d = e.getValue().duplicate();
                    d.attach(resultScope);
                }
                ordered.put(e.getKey(), d);
            }
            progress.accept(new IrrProgress(IrrProgress.Stage.DONE, -1, null, 1));
            return new IrrResult(resultScope, ordered, stats);
        } catch (RuntimeException | Error e) {
            resultScope.close();
            throw e;
        }
    }

    /** A projection weight IRR realigns. */
    record Target(int layer, ProjectionKind kind) {}

    private record Realigned(NDArray delta, IrrTensorStats stats) {}

    private static Realigned realign(String name, IrrInputs inputs, NDArray fisher, double[] hessian,
                                     IrrParameters params, NDManager resultScope) {
        NDArray deltaArray = inputs.fineTunedDelta().get(name);
        Shape shape = deltaArray.getShape();
        int rows = Math.toIntExact(shape.get(0));
        int cols = Math.toIntExact(shape.get(1));
        float[] deltaValues = deltaArray.toFloatArray();
        double[] delta = new double[deltaValues.length];
        for (int i = 0; i < delta.length; i++) {
            if (!Float.isFinite(deltaValues[i])) {
                throw new IllegalArgumentException("the fine-tuning delta of '" + name + "' has a non-finite value "
                        + deltaValues[i] + " at (" + i / cols + ", " + i % cols + ")");
            }
            delta[i] = deltaValues[i];
        }
        float[] a = inputs.aligned().tensor(name).toFloatArray();
        float[] u = inputs.unaligned().tensor(name).toFloatArray();
        float[] safety = new float[a.length]; // v = W_a - W_u
        for (int i = 0; i < a.length; i++) {
            safety[i] = a[i] - u[i];
        }
        MatrixRealignment.Outcome outcome = MatrixRealignment.run(name, rows, cols, delta, safety,
                fisher.toFloatArray(), hessian, params);
        float[] result = new float[delta.length];
        for (int i = 0; i < result.length; i++) {
            result[i] = (float) outcome.delta()[i];
        }
        double errorRemoveOnly = Double.NaN;
        double errorAfter = Double.NaN;
        if (hessian != null) {
            double[] plain = new double[delta.length];   // W_ft - W_removed: the removed deltas, uncompensated
            double[] change = new double[delta.length];  // W_ft - W'
            for (int i = 0; i < delta.length; i++) {
                plain[i] = outcome.removed()[i] ? delta[i] : 0;
                change[i] = delta[i] - result[i];
            }
            errorRemoveOnly = MatrixRealignment.outputError(plain, rows, cols, hessian);
            errorAfter = MatrixRealignment.outputError(change, rows, cols, hessian);
        }
        NDArray out = resultScope.create(result, shape);
        IrrTensorStats stats = new IrrTensorStats(name, delta.length, outcome.conflicting(), outcome.removedCount(),
                errorRemoveOnly, errorAfter);
        return new Realigned(out, stats);
    }

    /** Checks types and shapes up front, naming the tensor; returns the projection targets in layer order. */
    private SequencedMap<String, Target> validate(IrrInputs inputs, IrrParameters params) {
        if (!params.removeOnly() && inputs.calibration().isEmpty()) {
            throw new IllegalArgumentException("recalibration needs calibration sequences (or set removeOnly)");
        }
        if (!inputs.aligned().config().equals(model.config())) {
            throw new IllegalArgumentException("the aligned weights' config differs from the model's");
        }
        if (!inputs.unaligned().config().equals(model.config())) {
            throw new IllegalArgumentException("the unaligned weights' config differs from the aligned model's");
        }
        for (var e : inputs.fineTunedDelta().entrySet()) {
            String name = e.getKey();
            NDArray delta = e.getValue();
            NDArray base = inputs.aligned().tensor(name);
            if (!delta.getShape().equals(base.getShape())) {
                throw new IllegalArgumentException("the fine-tuning delta of '" + name + "' has shape "
                        + delta.getShape() + " but the aligned tensor has " + base.getShape());
            }
            requireFloat32("fine-tuning delta", name, delta);
        }
        SequencedMap<String, Target> targets = new LinkedHashMap<>();
        for (int layer = 0; layer < model.config().numLayers(); layer++) {
            for (ProjectionKind kind : ProjectionKind.values()) {
                String name = kind.weightName(layer);
                if (!inputs.fineTunedDelta().containsKey(name)) {
                    continue;
                }
                requireFloat32("aligned", name, inputs.aligned().tensor(name));
                NDArray unaligned = inputs.unaligned().tensor(name);
                requireFloat32("unaligned", name, unaligned);
                if (!unaligned.getShape().equals(inputs.aligned().tensor(name).getShape())) {
                    throw new IllegalArgumentException("the unaligned tensor '" + name + "' has shape "
                            + unaligned.getShape() + " but the aligned one has " + inputs.aligned().tensor(name).getShape());
                }
                targets.put(name, new Target(layer, kind));
            }
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("the fine-tune changes none of the layers' projection weights;"
                    + " IRR has nothing to realign");
        }
        return targets;
    }

    private static void requireFloat32(String what, String name, NDArray tensor) {
        if (tensor.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("the " + what + " tensor '" + name + "' is " + tensor.getDataType()
                    + "; IRR needs fp32 (load the models with dtype f32)");
        }
    }
}
