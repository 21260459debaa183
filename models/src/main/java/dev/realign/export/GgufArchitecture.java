package dev.realign.export;

import dev.realign.model.ModelConfig;
import dev.realign.model.RopeScaling;
import dev.realign.model.TensorLayout;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a Llama-family config maps onto one of llama.cpp's architectures: the architecture name, the
 * Hugging Face -> GGUF tensor names, and whether q/k rows must be permuted.
 *
 * <p>llama.cpp's {@code llama} architecture applies RoPE to adjacent pairs of a head (Meta's original
 * layout), while Hugging Face checkpoints pair element i with element i + head_dim/2 (rotate-half). The
 * rows of q_proj and k_proj (and their biases) are therefore interleaved per head for {@code llama} (and
 * Mistral, which llama.cpp loads as {@code llama}); {@code qwen2} and {@code qwen3} use llama.cpp's NEOX
 * (rotate-half) RoPE and keep Hugging Face's order.
 */
record GgufArchitecture(String name, boolean permuteQk) {
    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");

    static GgufArchitecture of(ModelConfig config, String source) {
        GgufArchitecture arch = switch (config.modelType()) {
            case "llama", "mistral" -> new GgufArchitecture("llama", true);
            case "qwen2" -> new GgufArchitecture("qwen2", false);
            case "qwen3" -> new GgufArchitecture("qwen3", false);
            default -> throw new GgufExportException(source + ": model_type '" + config.modelType()
                    + "' has no GGUF export (supported: llama, mistral, qwen2, qwen3)");
        };
        arch.check(config, source);
        return arch;
    }

    private void check(ModelConfig config, String source) {
        if (name.equals("qwen3") && (config.qkvBias() || config.outputBias())) {
            throw new GgufExportException(source + ": qwen3 with attention_bias=true cannot be expressed: llama.cpp's"
                    + " qwen3 architecture has no attention bias tensors");
        }
        if (name.equals("qwen2") && (long) config.numHeads() * config.headDim() != config.hiddenSize()) {
            throw new GgufExportException(source + ": qwen2 with head_dim " + config.headDim() + " x "
                    + config.numHeads() + " heads != hidden_size " + config.hiddenSize()
                    + " cannot be expressed: llama.cpp's qwen2 architecture assumes they are equal");
        }
        if (config.ropeScaling().type() == RopeScaling.Type.LLAMA3 && !name.equals("llama")) {
            throw new GgufExportException(source + ": llama3 rope scaling on model_type " + config.modelType()
                    + " cannot be expressed: only llama.cpp's llama architecture reads rope_freqs factors");
        }
    }

    /** The GGUF name of a Hugging Face tensor the engine reads. */
    String tensorName(String hfName) {
        switch (hfName) {
            case TensorLayout.EMBED:
                return "token_embd.weight";
            case TensorLayout.FINAL_NORM:
                return "output_norm.weight";
            case TensorLayout.LM_HEAD:
                return "output.weight";
            default:
                break;
        }
        Matcher m = LAYER.matcher(hfName);
        if (!m.matches()) {
            throw new IllegalArgumentException("no GGUF name for tensor '" + hfName + "'");
        }
        String block = "blk." + m.group(1) + ".";
        return block + switch (m.group(2)) {
            case "input_layernorm.weight" -> "attn_norm.weight";
            case "self_attn.q_proj.weight" -> "attn_q.weight";
            case "self_attn.k_proj.weight" -> "attn_k.weight";
            case "self_attn.v_proj.weight" -> "attn_v.weight";
            case "self_attn.q_proj.bias" -> "attn_q.bias";
            case "self_attn.k_proj.bias" -> "attn_k.bias";
            case "self_attn.v_proj.bias" -> "attn_v.bias";
            case "self_attn.q_norm.weight" -> "attn_q_norm.weight";
            case "self_attn.k_norm.weight" -> "attn_k_norm.weight";
            case "self_attn.o_proj.weight" -> "attn_output.weight";
            case "self_attn.o_proj.bias" -> "attn_output.bias";
            case "post_attention_layernorm.weight" -> "ffn_norm.weight";
            case "mlp.gate_proj.weight" -> "ffn_gate.weight";
            case "mlp.up_proj.weight" -> "ffn_up.weight";
            case "mlp.down_proj.weight" -> "ffn_down.weight";
            default -> throw new IllegalArgumentException("no GGUF name for tensor '" + hfName + "'");
        };
    }

    /**
     * The number of heads whose rows must be interleaved in tensor {@code hfName} (q_proj or k_proj weight or
     * bias, and LoRA B matrices of those), or 0 when the rows stay as they are.
     */
    int permutedHeads(String hfName, ModelConfig config) {
        if (!permuteQk) {
            return 0;
        }
        if (hfName.endsWith("self_attn.q_proj.weight") || hfName.endsWith("self_attn.q_proj.bias")) {
            return config.numHeads();
        }
        if (hfName.endsWith("self_attn.k_proj.weight") || hfName.endsWith("self_attn.k_proj.bias")) {
            return config.numKvHeads();
        }
        return 0;
    }

    /**
     * Reorders the rows of a (heads * headDim, cols) row-major matrix from rotate-half order to interleaved
     * pairs, per head: new row 2j + s is old row s * headDim/2 + j (s = 0, 1; j < headDim/2).
     */
    static float[] interleaveRows(float[] values, int heads, int headDim, int cols) {
        if ((long) heads * headDim * cols != values.length) {
            throw new IllegalArgumentException(values.length + " values are not " + heads + " heads x " + headDim
                    + " rows x " + cols + " columns");
        }
        float[] out = new float[values.length];
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            int base = h * headDim;
            for (int s = 0; s < 2; s++) {
                for (int j = 0; j < half; j++) {
                    System.arraycopy(values, (base + s * half + j) * cols, out, (base + 2 * j + s) * cols, cols);
                }
            }
        }
        return out;
    }
}
