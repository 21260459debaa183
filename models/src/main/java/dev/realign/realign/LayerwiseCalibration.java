package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.realign.model.LlamaModel;
import dev.realign.model.ProjectionKind;
import dev.realign.model.SequenceChunk;
import dev.realign.model.Weights;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Calibration inputs propagated layer by layer through a model that is being edited, as SparseGPT and IRR run
 * it: the residual stream of every calibration sequence is kept at the entrance of the current layer, each
 * projection's inputs are read from a forward of that one layer with the weights edited so far
 * ({@link LlamaModel#runLayer} with a tap), and once the layer is done the stream advances through the edited
 * layer. No layer below is ever rerun.
 *
 * <p>Owns the stream (one sub-manager, replaced at each {@link #advance}); close it when done.
 */
final class LayerwiseCalibration implements AutoCloseable {
    /** Sequences per forward: bounds the attention and activation memory of one call, not the result. */
    static final int SEQUENCES_PER_FORWARD = 8;

    private final LlamaModel model;
    private final NDManager owner;
    private final List<List<SequenceChunk>> batches = new ArrayList<>();
    private final long tokens;
    private NDManager streamScope;
    private List<NDArray> stream; // per batch: (batch tokens, hidden) entering the current layer
    private int layer;

    /** Embeds the calibration sequences with {@code weights} (the fine-tuned model as it stands). */
    LayerwiseCalibration(LlamaModel model, Weights weights, List<int[]> calibration, NDManager owner) {
        if (calibration.isEmpty()) {
            throw new IllegalArgumentException("no calibration sequences");
        }
        this.model = model;
        this.owner = owner;
        long count = 0;
        for (int from = 0; from < calibration.size(); from += SEQUENCES_PER_FORWARD) {
            List<SequenceChunk> batch = new ArrayList<>();
            for (int[] tokens : calibration.subList(from, Math.min(calibration.size(), from + SEQUENCES_PER_FORWARD))) {
                batch.add(new SequenceChunk(null, tokens));
                count += tokens.length;
            }
            batches.add(batch);
        }
        this.tokens = count;
        this.streamScope = owner.newSubManager();
        this.stream = new ArrayList<>(batches.size());
        try {
            for (List<SequenceChunk> batch : batches) {
                stream.add(model.embed(weights, batch, streamScope));
            }
        } catch (RuntimeException e) {
            streamScope.close();
            throw e;
        }
    }

    long tokens() {
        return tokens;
    }

    int layer() {
        return layer;
    }

    /**
     * H = 2/n sum_x x x^T (n = calibration tokens) of each requested projection's inputs in the current layer,
     * with {@code weights} as edited so far. Projections that read the same input (q/k/v, gate/up) share one
     * product.
     *
     * @return per kind, (in, in) row-major, double precision
     */
    Map<ProjectionKind, double[]> hessians(Weights weights, Set<ProjectionKind> kinds) {
        Map<ProjectionKind, double[]> result = new EnumMap<>(ProjectionKind.class);
        try (NDManager scope = owner.newSubManager()) {
            Map<ProjectionKind, NDArray> sums = new EnumMap<>(ProjectionKind.class); // (in, in) fp64, in scope
            for (int b = 0; b < batches.size(); b++) {
                try (NDManager forward = scope.newSubManager()) {
                    NDArray[] last = new NDArray[2]; // {input, its x^T x}: the previous tap's, for sharing
                    model.runLayer(weights, layer, stream.get(b), batches.get(b), forward, (l, kind, input) -> {
                        if (!kinds.contains(kind)) {
                            return;
                        }
                        if (input != last[0]) {
                            NDArray x = input.toType(DataType.FLOAT64, false);   // (rows, in)
                            last[0] = input;
                            last[1] = x.transpose().matMul(x);                   // (in, in)
                        }
                        long in = input.getShape().get(1);
                        sums.computeIfAbsent(kind, k -> scope.zeros(new Shape(in, in), DataType.FLOAT64)).addi(last[1]);
                    });
                }
            }
            double scale = 2.0 / tokens;
            for (var e : sums.entrySet()) {
                double[] h = e.getValue().toDoubleArray();
                for (int i = 0; i < h.length; i++) {
                    h[i] *= scale;
                }
                result.put(e.getKey(), h);
            }
        }
        for (ProjectionKind kind : kinds) {
            if (!result.containsKey(kind)) {
                throw new IllegalStateException("the forward of layer " + layer + " never ran projection " + kind);
            }
        }
        return result;
    }

    /** Moves the stream through the current layer as {@code edited} now holds it. */
    void advance(Weights edited) {
        NDManager next = owner.newSubManager();
        try {
            List<NDArray> moved = new ArrayList<>(stream.size());
            for (int b = 0; b < batches.size(); b++) {
                try (NDManager forward = owner.newSubManager()) {
                    NDArray out = model.runLayer(edited, layer, stream.get(b), batches.get(b), forward, null);
                    out.attach(next); // only the layer's output outlives the call
                    moved.add(out);
                }
            }
            streamScope.close();
            streamScope = next;
            stream = moved;
            layer++;
        } catch (RuntimeException e) {
            next.close();
            throw e;
        }
    }

    @Override
    public void close() {
        streamScope.close();
    }
}
