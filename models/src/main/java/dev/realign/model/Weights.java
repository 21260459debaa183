package dev.realign.model;

import ai.djl.ndarray.NDArray;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * An immutable name -> tensor view of a model's weights, shared by every sequence and every profile
 * that does not change them. It owns nothing: the model (or a merged profile) that built it closes the
 * tensors. {@link #withOverrides} gives a copy-on-write view for merged profiles.
 */
public final class Weights {
    private final ModelConfig config;
    private final SequencedMap<String, NDArray> tensors;
    private final NDArray embed;       // (vocab, hidden)
    private final NDArray finalNorm;   // (hidden)
    private final NDArray lmHead;      // (vocab, hidden); the embedding when tied
    private final LayerWeights[] layers;

    public Weights(ModelConfig config, Map<String, NDArray> tensors) {
        this.config = config;
        this.tensors = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(tensors));
        this.embed = require(TensorLayout.EMBED);
        this.finalNorm = require(TensorLayout.FINAL_NORM);
        this.lmHead = config.tieWordEmbeddings() ? embed : require(TensorLayout.LM_HEAD);
        this.layers = new LayerWeights[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = readLayer(i);
        }
    }

    private LayerWeights readLayer(int i) {
        return new LayerWeights(
                require(TensorLayout.layer(i, "input_layernorm.weight")),
                require(TensorLayout.layer(i, "self_attn.q_proj.weight")),
                require(TensorLayout.layer(i, "self_attn.k_proj.weight")),
                require(TensorLayout.layer(i, "self_attn.v_proj.weight")),
                config.qkvBias() ? require(TensorLayout.layer(i, "self_attn.q_proj.bias")) : null,
                config.qkvBias() ? require(TensorLayout.layer(i, "self_attn.k_proj.bias")) : null,
                config.qkvBias() ? require(TensorLayout.layer(i, "self_attn.v_proj.bias")) : null,
                config.qkNorm() ? require(TensorLayout.layer(i, "self_attn.q_norm.weight")) : null,
                config.qkNorm() ? require(TensorLayout.layer(i, "self_attn.k_norm.weight")) : null,
                require(TensorLayout.layer(i, "self_attn.o_proj.weight")),
                config.outputBias() ? require(TensorLayout.layer(i, "self_attn.o_proj.bias")) : null,
                require(TensorLayout.layer(i, "post_attention_layernorm.weight")),
                require(TensorLayout.layer(i, "mlp.gate_proj.weight")),
                require(TensorLayout.layer(i, "mlp.up_proj.weight")),
                require(TensorLayout.layer(i, "mlp.down_proj.weight")));
    }

    private NDArray require(String name) {
        NDArray t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("weights lack tensor '" + name + "'");
        }
        return t;
    }

    public ModelConfig config() {
        return config;
    }

    public NDArray embed() {
        return embed;
    }

    public NDArray finalNorm() {
        return finalNorm;
    }

    public NDArray lmHead() {
        return lmHead;
    }

    public LayerWeights layer(int index) {
        return layers[index];
    }

    public SequencedMap<String, NDArray> tensors() {
        return tensors;
    }

    public NDArray tensor(String name) {
        return require(name);
    }

    /**
     * A view in which the given tensors replace the base's and every other tensor is shared (copy-on-write
     * merging: a profile's memory is only what it touched).
     */
    public Weights withOverrides(Map<String, NDArray> overrides) {
        for (String name : overrides.keySet()) {
            if (!tensors.containsKey(name)) {
                throw new IllegalArgumentException("override names unknown tensor '" + name + "'");
            }
        }
        Map<String, NDArray> merged = new LinkedHashMap<>(tensors);
        merged.putAll(overrides);
        return new Weights(config, merged);
    }
}
