package dev.realign.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
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
    private final Map<String, List<LoraTerm>> lora;   // weight name -> unmerged adapters on it
    private final Weights withoutLora;                 // this view minus its LoRA terms; this when it has none
    private volatile Boolean requiresGradient;         // computed on first use: the view is immutable

    public Weights(ModelConfig config, Map<String, NDArray> tensors) {
        this(config, tensors, Map.of(), null);
    }

    /** @param withoutLora the LoRA-free view over the same tensors, or null when {@code lora} is empty */
    private Weights(ModelConfig config, Map<String, NDArray> tensors, Map<String, List<LoraTerm>> lora,
                    Weights withoutLora) {
        this.config = config;
        this.tensors = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(tensors));
        this.lora = Map.copyOf(lora);
        this.withoutLora = this.lora.isEmpty() ? this : withoutLora;
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
                projection(i, "self_attn.q_proj", config.qkvBias()),
                projection(i, "self_attn.k_proj", config.qkvBias()),
                projection(i, "self_attn.v_proj", config.qkvBias()),
                config.qkNorm() ? require(TensorLayout.layer(i, "self_attn.q_norm.weight")) : null,
                config.qkNorm() ? require(TensorLayout.layer(i, "self_attn.k_norm.weight")) : null,
                projection(i, "self_attn.o_proj", config.outputBias()),
                require(TensorLayout.layer(i, "post_attention_layernorm.weight")),
                projection(i, "mlp.gate_proj", false),
                projection(i, "mlp.up_proj", false),
                projection(i, "mlp.down_proj", false));
    }

    private Projection projection(int layer, String module, boolean hasBias) {
        String weight = TensorLayout.layer(layer, module + ".weight");
        return new Projection(require(weight),
                hasBias ? require(TensorLayout.layer(layer, module + ".bias")) : null,
                lora.getOrDefault(weight, List.of()));
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
        Weights plain = new Weights(config, merged);
        return lora.isEmpty() ? plain : new Weights(config, merged, lora, plain);
    }

    /**
     * A view in which each tensor named in {@code deltas} is this one's plus its delta (computed into
     * {@code manager}, which owns the sums) and every other tensor is shared, as in {@link #withOverrides}.
     */
    public Weights withDeltas(Map<String, NDArray> deltas, NDManager manager) {
        Map<String, NDArray> sums = new LinkedHashMap<>();
        deltas.forEach((name, delta) -> {
            NDArray sum = tensor(name).add(delta);
            sum.attach(manager);
            sums.put(name, sum);
        });
        return withOverrides(sums);
    }

    /**
     * A view that adds unmerged LoRA terms to projection weights (keyed by weight name, e.g.
     * {@code model.layers.0.self_attn.q_proj.weight}); only the seven linear projections of a layer take them.
     */
    public Weights withLora(Map<String, List<LoraTerm>> terms) {
        Map<String, List<LoraTerm>> combined = new LinkedHashMap<>(lora);
        for (var entry : terms.entrySet()) {
            String name = entry.getKey();
            if (!name.startsWith("model.layers.") || !name.endsWith("_proj.weight") || !tensors.containsKey(name)) {
                throw new IllegalArgumentException("LoRA terms only apply to layer projections, not '" + name + "'");
            }
            List<LoraTerm> list = new ArrayList<>(combined.getOrDefault(name, List.of()));
            list.addAll(entry.getValue());
            combined.put(name, list);
        }
        return new Weights(config, tensors, combined, withoutLora);
    }

    /**
     * This view without its unmerged LoRA terms: the same object for every LoRA view over the same tensors,
     * so profiles that differ only by LoRA terms can be told apart from materialized ones by identity and
     * share one forward ({@link LoraBatch}).
     */
    public Weights withoutLora() {
        return withoutLora;
    }

    /**
     * Whether any tensor of this view (or of its LoRA terms) requires a gradient: a forward over it must then keep
     * every product on libtorch so autograd records it. Asked once per view (a JNI call per tensor).
     */
    public boolean requiresGradient() {
        Boolean known = requiresGradient;
        if (known == null) {
            boolean any = false;
            for (NDArray t : tensors.values()) {
                any |= t.hasGradient();
            }
            for (List<LoraTerm> terms : lora.values()) {
                for (LoraTerm term : terms) {
                    any |= term.a().hasGradient() || term.b().hasGradient();
                }
            }
            requiresGradient = known = any;
        }
        return known;
    }

    /** The unmerged LoRA terms of this view, by weight name. */
    public Map<String, List<LoraTerm>> lora() {
        return lora;
    }
}
