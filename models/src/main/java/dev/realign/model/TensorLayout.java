package dev.realign.model;

import java.util.LinkedHashMap;
import java.util.SequencedMap;

/**
 * The Hugging Face tensor names and shapes a Llama-family checkpoint must hold for a config. Every
 * family maps onto the same blocks; only biases, q/k norms and the tied head differ.
 */
public final class TensorLayout {
    public static final String EMBED = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private TensorLayout() {}

    public static String layer(int layer, String suffix) {
        return "model.layers." + layer + "." + suffix;
    }

    /** Every tensor the engine reads, in checkpoint order, with its expected shape. */
    public static SequencedMap<String, long[]> expected(ModelConfig c) {
        SequencedMap<String, long[]> shapes = new LinkedHashMap<>();
        long hidden = c.hiddenSize();
        long qWidth = (long) c.numHeads() * c.headDim();
        long kvWidth = (long) c.numKvHeads() * c.headDim();
        shapes.put(EMBED, new long[] {c.vocabSize(), hidden});
        for (int i = 0; i < c.numLayers(); i++) {
            shapes.put(layer(i, "input_layernorm.weight"), new long[] {hidden});
            shapes.put(layer(i, "self_attn.q_proj.weight"), new long[] {qWidth, hidden});
            shapes.put(layer(i, "self_attn.k_proj.weight"), new long[] {kvWidth, hidden});
            shapes.put(layer(i, "self_attn.v_proj.weight"), new long[] {kvWidth, hidden});
            if (c.qkvBias()) {
                shapes.put(layer(i, "self_attn.q_proj.bias"), new long[] {qWidth});
                shapes.put(layer(i, "self_attn.k_proj.bias"), new long[] {kvWidth});
                shapes.put(layer(i, "self_attn.v_proj.bias"), new long[] {kvWidth});
            }
            if (c.qkNorm()) {
                shapes.put(layer(i, "self_attn.q_norm.weight"), new long[] {c.headDim()});
                shapes.put(layer(i, "self_attn.k_norm.weight"), new long[] {c.headDim()});
            }
            shapes.put(layer(i, "self_attn.o_proj.weight"), new long[] {hidden, qWidth});
            if (c.outputBias()) {
                shapes.put(layer(i, "self_attn.o_proj.bias"), new long[] {hidden});
            }
            shapes.put(layer(i, "post_attention_layernorm.weight"), new long[] {hidden});
            shapes.put(layer(i, "mlp.gate_proj.weight"), new long[] {c.intermediateSize(), hidden});
            shapes.put(layer(i, "mlp.up_proj.weight"), new long[] {c.intermediateSize(), hidden});
            shapes.put(layer(i, "mlp.down_proj.weight"), new long[] {hidden, c.intermediateSize()});
        }
        shapes.put(FINAL_NORM, new long[] {hidden});
        if (!c.tieWordEmbeddings()) {
            shapes.put(LM_HEAD, new long[] {c.vocabSize(), hidden});
        }
        return shapes;
    }
}
