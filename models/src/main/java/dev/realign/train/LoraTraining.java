package dev.realign.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.realign.merge.PeftLoraWriter;
import dev.realign.model.LoraTerm;
import dev.realign.model.Weights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LoRA training over frozen base weights: for each target projection W (out, in), trainable A (r, in) and
 * B (out, r), served as W + (alpha / r) B A. A starts uniform in +-1/sqrt(in) and B at zero, as PEFT
 * initializes, so training starts exactly at the base model.
 */
public final class LoraTraining implements TrainableWeights {
    /** The seven projections of every decoder layer. */
    public static final List<String> ALL_PROJECTIONS = List.of("self_attn.q_proj", "self_attn.k_proj",
            "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

    private final NDManager manager;
    private final Weights base;
    private final Weights weights;
    private final List<TrainableParameter> parameters;
    private final List<PeftLoraWriter.Module> modules;

    private final float coefficient;

    private LoraTraining(NDManager manager, Weights base, Weights weights, List<TrainableParameter> parameters,
                         List<PeftLoraWriter.Module> modules, float coefficient) {
        this.manager = manager;
        this.base = base;
        this.weights = weights;
        this.coefficient = coefficient;
        this.parameters = parameters;
        this.modules = modules;
    }

    /**
     * @param base    the frozen model (its tensors are read, never changed)
     * @param modules module suffixes to adapt in every layer, e.g. {@link #ALL_PROJECTIONS}
     */
    public static LoraTraining create(Weights base, List<String> modules, int rank, double alpha, long seed,
                                      NDManager parent) {
        if (rank < 1) {
            throw new IllegalArgumentException("LoRA rank must be >= 1, got " + rank);
        }
        NDManager manager = parent.newSubManager();
        try {
            Map<String, List<LoraTerm>> terms = new LinkedHashMap<>();
            List<TrainableParameter> parameters = new ArrayList<>();
            List<PeftLoraWriter.Module> written = new ArrayList<>();
            for (int layer = 0; layer < base.config().numLayers(); layer++) {
                for (String module : modules) {
                    String target = "model.layers." + layer + "." + module + ".weight";
                    long[] shape = base.tensor(target).getShape().getShape(); // (out, in)
                    int in = Math.toIntExact(shape[1]);
                    float[] a = new float[rank * in];
                    SplittableRandom random = new SplittableRandom(seed ^ target.hashCode() * 0x9E3779B97F4A7C15L);
                    double bound = 1 / Math.sqrt(in);
                    for (int i = 0; i < a.length; i++) {
                        a[i] = (float) random.nextDouble(-bound, bound);
                    }
                    NDArray aArray = manager.create(a, new Shape(rank, in));                // (r, in)
                    NDArray bArray = manager.zeros(new Shape(shape[0], rank));            // (out, r)
                    String prefix = target.substring(0, target.length() - ".weight".length());
                    parameters.add(new TrainableParameter(prefix + ".lora_A", aArray, false));
                    parameters.add(new TrainableParameter(prefix + ".lora_B", bArray, false));
                    terms.put(target, List.of(new LoraTerm(aArray, bArray, (float) (alpha / rank))));
                    written.add(new PeftLoraWriter.Module(target, aArray, bArray, alpha));
                }
            }
            return new LoraTraining(manager, base, base.withLora(terms), List.copyOf(parameters), List.copyOf(written),
                    (float) (alpha / rank));
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    @Override
    public Weights weights() {
        return weights;
    }

    @Override
    public List<TrainableParameter> parameters() {
        return parameters;
    }

    @Override
    public Binding bind(NDManager scope) {
        Map<String, List<LoraTerm>> terms = new LinkedHashMap<>();
        List<NDArray> leaves = new ArrayList<>();
        for (int i = 0; i < modules.size(); i++) {
            NDArray a = parameters.get(2 * i).value().duplicate();     // (r, in)
            NDArray b = parameters.get(2 * i + 1).value().duplicate(); // (out, r)
            for (NDArray leaf : List.of(a, b)) {
                leaf.attach(scope);
                leaf.setRequiresGradient(true);
                leaves.add(leaf);
            }
            terms.put(modules.get(i).target(), List.of(new LoraTerm(a, b, coefficient)));
        }
        return new Binding(base.withLora(terms), List.copyOf(leaves));
    }

    /** The trained factors, ready for {@link PeftLoraWriter#write}. */
    public List<PeftLoraWriter.Module> modules() {
        return modules;
    }

    @Override
    public void close() {
        manager.close();
    }
}
