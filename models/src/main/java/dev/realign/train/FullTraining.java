package dev.realign.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.realign.model.ModelConfig;
import dev.realign.model.TensorLayout;
import dev.realign.model.Weights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Full fine-tuning (or training from scratch): every tensor of the model is an fp32 trainable copy. */
public final class FullTraining implements TrainableWeights {
    private final NDManager manager;
    private final Weights weights;
    private final List<TrainableParameter> parameters;

    private final ModelConfig config;

    private FullTraining(NDManager manager, ModelConfig config, Map<String, NDArray> tensors) {
        this.manager = manager;
        this.config = config;
        this.weights = new Weights(config, tensors);
        List<TrainableParameter> list = new ArrayList<>();
        for (var e : tensors.entrySet()) {
            NDArray value = e.getValue();
            // Decay matrices only: not norms or biases, and not the (tied) embeddings, whose rows for rare tokens
            // decay toward zero and then blow up the first RMSNorm's gradient (1 / rms) when they do appear.
            boolean decay = value.getShape().dimension() == 2 && !e.getKey().equals(TensorLayout.EMBED)
                    && !e.getKey().equals(TensorLayout.LM_HEAD);
            list.add(new TrainableParameter(e.getKey(), value, decay));
        }
        this.parameters = List.copyOf(list);
    }

    /** Trainable fp32 copies of a model's weights (the source is not changed). */
    public static FullTraining copyOf(Weights source, NDManager parent) {
        NDManager manager = parent.newSubManager();
        try {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (var e : source.tensors().entrySet()) {
                NDArray tensor = e.getValue();
                // toType(FLOAT32, true) does not copy an fp32 tensor, and a loaded one wraps the read-only mmap.
                NDArray copy = tensor.getDataType() == DataType.FLOAT32 ? tensor.duplicate()
                        : tensor.toType(DataType.FLOAT32, false);
                copy.attach(manager);
                tensors.put(e.getKey(), copy);
            }
            return new FullTraining(manager, source.config(), tensors);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * A freshly initialized model: norms 1, biases 0, matrices normal with std 0.02 (output projections
     * o_proj and down_proj scaled by 1/sqrt(2 * layers), as GPT-2 does, so the residual stream does not grow
     * with depth). Values follow from the seed and each tensor's name.
     */
    public static FullTraining initialize(ModelConfig config, long seed, NDManager parent) {
        NDManager manager = parent.newSubManager();
        try {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (var e : TensorLayout.expected(config).entrySet()) {
                String name = e.getKey();
                long[] shape = e.getValue();
                float[] values = new float[Math.toIntExact(new Shape(shape).size())];
                if (name.endsWith("norm.weight")) {
                    java.util.Arrays.fill(values, 1f);
                } else if (!name.endsWith(".bias")) {
                    double std = 0.02;
                    if (name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")) {
                        std /= Math.sqrt(2.0 * config.numLayers());
                    }
                    SplittableRandom random = new SplittableRandom(seed ^ name.hashCode() * 0x9E3779B97F4A7C15L);
                    for (int i = 0; i < values.length; i++) {
                        values[i] = (float) (random.nextGaussian() * std);
                    }
                }
                try (NDArray wrapped = manager.create(values, new Shape(shape))) {
                    tensors.put(name, wrapped.duplicate()); // torch-owned memory, not a wrapped Java buffer
                }
            }
            return new FullTraining(manager, config, tensors);
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
        Map<String, NDArray> leaves = new LinkedHashMap<>();
        for (TrainableParameter p : parameters) {
            NDArray leaf = p.value().duplicate();
            leaf.attach(scope);
            leaf.setRequiresGradient(true);
            leaves.put(p.name(), leaf);
        }
        return new Binding(new Weights(config, leaves), List.copyOf(leaves.values()));
    }

    @Override
    public void close() {
        manager.close();
    }
}
