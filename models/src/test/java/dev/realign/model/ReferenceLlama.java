package dev.realign.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * An independent, deliberately naive reference of the Hugging Face Llama-family causal LM forward
 * ({@code LlamaForCausalLM}, {@code MistralForCausalLM}, {@code Qwen2ForCausalLM}, {@code Qwen3ForCausalLM})
 * in plain Java doubles: no DJL, no cache, no batching, one loop per formula. It is written from the
 * transformers definitions, not from {@link LlamaModel}, so that parity between the two means something.
 *
 * <p>Weights are Hugging Face tensors flattened row-major; linear weights are (out, in) and compute
 * {@code y = W x + b}. Only the architecture fields of {@link ModelConfig} are read.
 */
final class ReferenceLlama {
    private final ModelConfig c;
    private final Map<String, double[]> w = new LinkedHashMap<>();
    private final double[] invFreq;

    ReferenceLlama(ModelConfig config, Map<String, float[]> weights) {
        this.c = config;
        for (var e : shapes(config).entrySet()) {
            float[] t = weights.get(e.getKey());
            if (t == null) {
                throw new IllegalArgumentException("reference: missing tensor " + e.getKey());
            }
            int[] shape = e.getValue();
            int size = shape.length == 1 ? shape[0] : shape[0] * shape[1];
            if (t.length != size) {
                throw new IllegalArgumentException("reference: " + e.getKey() + " holds " + t.length
                        + " values, expected " + size);
            }
            double[] d = new double[size];
            for (int i = 0; i < size; i++) {
                d[i] = t[i];
            }
            w.put(e.getKey(), d);
        }
        this.invFreq = inverseFrequencies(config);
    }

    /**
     * Hugging Face tensor names of a Llama-family checkpoint and their shapes, from the transformers module
     * definitions: q/k/v biases for Qwen2 (and attention_bias), o_proj bias only with attention_bias,
     * Qwen3's per-head q_norm/k_norm, lm_head absent when tied to embed_tokens.
     */
    static SequencedMap<String, int[]> shapes(ModelConfig c) {
        SequencedMap<String, int[]> s = new LinkedHashMap<>();
        int h = c.hiddenSize();
        int q = c.numHeads() * c.headDim();
        int kv = c.numKvHeads() * c.headDim();
        int inter = c.intermediateSize();
        s.put("model.embed_tokens.weight", new int[] {c.vocabSize(), h});
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            s.put(p + "input_layernorm.weight", new int[] {h});
            s.put(p + "self_attn.q_proj.weight", new int[] {q, h});
            s.put(p + "self_attn.k_proj.weight", new int[] {kv, h});
            s.put(p + "self_attn.v_proj.weight", new int[] {kv, h});
            if (c.qkvBias()) {
                s.put(p + "self_attn.q_proj.bias", new int[] {q});
                s.put(p + "self_attn.k_proj.bias", new int[] {kv});
                s.put(p + "self_attn.v_proj.bias", new int[] {kv});
            }
            if (c.qkNorm()) {
                s.put(p + "self_attn.q_norm.weight", new int[] {c.headDim()});
                s.put(p + "self_attn.k_norm.weight", new int[] {c.headDim()});
            }
            s.put(p + "self_attn.o_proj.weight", new int[] {h, q});
            if (c.outputBias()) {
                s.put(p + "self_attn.o_proj.bias", new int[] {h});
            }
            s.put(p + "post_attention_layernorm.weight", new int[] {h});
            s.put(p + "mlp.gate_proj.weight", new int[] {inter, h});
            s.put(p + "mlp.up_proj.weight", new int[] {inter, h});
            s.put(p + "mlp.down_proj.weight", new int[] {h, inter});
        }
        s.put("model.norm.weight", new int[] {h});
        if (!c.tieWordEmbeddings()) {
            s.put("lm_head.weight", new int[] {c.vocabSize(), h});
        }
        return s;
    }

    /**
     * transformers' rotary inverse frequencies: default {@code 1 / theta^(2i/d)}; 'linear' divides all by
     * factor; 'llama3' ({@code _compute_llama3_parameters}) keeps wavelengths below
     * original/high_freq_factor, divides those above original/low_freq_factor by factor, and in between
     * blends (1 - s) * f / factor + s * f with s = (original / wavelength - low) / (high - low).
     */
    static double[] inverseFrequencies(ModelConfig c) {
        int d = c.headDim();
        double[] inv = new double[d / 2];
        RopeScaling rs = c.ropeScaling();
        for (int i = 0; i < inv.length; i++) {
            double base = 1.0 / Math.pow(c.ropeTheta(), (double) (2 * i) / d);
            double f = base;
            switch (rs.type()) {
                case NONE -> { }
                case LINEAR -> f = base / rs.factor();
                case LLAMA3 -> {
                    double old = rs.originalMaxPositions();
                    double lowWavelen = old / rs.lowFreqFactor();
                    double highWavelen = old / rs.highFreqFactor();
                    double wavelen = 2 * Math.PI / base;
                    double scaled = wavelen > lowWavelen ? base / rs.factor() : base;
                    double smooth = (old / wavelen - rs.lowFreqFactor()) / (rs.highFreqFactor() - rs.lowFreqFactor());
                    double smoothed = (1 - smooth) * scaled / rs.factor() + smooth * scaled;
                    boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
                    f = medium ? smoothed : scaled;
                }
            }
            inv[i] = f;
        }
        return inv;
    }

    double[] invFreq() {
        return invFreq.clone();
    }

    /** Logits (tokens, vocab) of every position of one sequence starting at position 0. */
    double[][] logits(int[] tokens) {
        int n = tokens.length;
        int hidden = c.hiddenSize();
        int hd = c.headDim();
        int heads = c.numHeads();
        int kvHeads = c.numKvHeads();
        int group = heads / kvHeads;
        double eps = c.rmsNormEps();

        double[] embed = w.get("model.embed_tokens.weight");
        double[][] x = new double[n][hidden];
        for (int t = 0; t < n; t++) {
            if (tokens[t] < 0 || tokens[t] >= c.vocabSize()) {
                throw new IllegalArgumentException("token " + tokens[t] + " outside the vocabulary");
            }
            System.arraycopy(embed, tokens[t] * hidden, x[t], 0, hidden);
        }

        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            // --- self attention block ---
            double[][] xn = new double[n][];
            for (int t = 0; t < n; t++) {
                xn[t] = rmsNorm(x[t], 0, hidden, w.get(p + "input_layernorm.weight"), eps);
            }
            double[][] q = new double[n][];
            double[][] k = new double[n][];
            double[][] v = new double[n][];
            for (int t = 0; t < n; t++) {
                q[t] = linear(xn[t], w.get(p + "self_attn.q_proj.weight"), c.qkvBias() ? w.get(p + "self_attn.q_proj.bias") : null, heads * hd);
                k[t] = linear(xn[t], w.get(p + "self_attn.k_proj.weight"), c.qkvBias() ? w.get(p + "self_attn.k_proj.bias") : null, kvHeads * hd);
                v[t] = linear(xn[t], w.get(p + "self_attn.v_proj.weight"), c.qkvBias() ? w.get(p + "self_attn.v_proj.bias") : null, kvHeads * hd);
                if (c.qkNorm()) { // Qwen3: RMSNorm over each head's head_dim, before RoPE
                    for (int h = 0; h < heads; h++) {
                        System.arraycopy(rmsNorm(q[t], h * hd, hd, w.get(p + "self_attn.q_norm.weight"), eps), 0, q[t], h * hd, hd);
                    }
                    for (int h = 0; h < kvHeads; h++) {
                        System.arraycopy(rmsNorm(k[t], h * hd, hd, w.get(p + "self_attn.k_norm.weight"), eps), 0, k[t], h * hd, hd);
                    }
                }
                for (int h = 0; h < heads; h++) {
                    rope(q[t], h * hd, t);
                }
                for (int h = 0; h < kvHeads; h++) {
                    rope(k[t], h * hd, t);
                }
            }
            double scale = 1.0 / Math.sqrt(hd);
            int window = c.slidingWindow();
            double[][] attn = new double[n][heads * hd];
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < heads; h++) {
                    int g = h / group; // repeat_kv: query head h reads kv head h / n_rep
                    // causal (j <= t) and, with a window, HF's t - j < window
                    int first = window > 0 ? Math.max(0, t - window + 1) : 0;
                    double[] score = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = first; j <= t; j++) {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) {
                            dot += q[t][h * hd + i] * k[j][g * hd + i];
                        }
                        score[j] = dot * scale;
                        max = Math.max(max, score[j]);
                    }
                    double sum = 0;
                    for (int j = first; j <= t; j++) {
                        score[j] = Math.exp(score[j] - max);
                        sum += score[j];
                    }
                    for (int j = first; j <= t; j++) {
                        double pj = score[j] / sum;
                        for (int i = 0; i < hd; i++) {
                            attn[t][h * hd + i] += pj * v[j][g * hd + i];
                        }
                    }
                }
            }
            for (int t = 0; t < n; t++) {
                double[] o = linear(attn[t], w.get(p + "self_attn.o_proj.weight"), c.outputBias() ? w.get(p + "self_attn.o_proj.bias") : null, hidden);
                for (int i = 0; i < hidden; i++) {
                    x[t][i] += o[i];
                }
            }
            // --- MLP block: down(silu(gate(x)) * up(x)) ---
            int inter = c.intermediateSize();
            for (int t = 0; t < n; t++) {
                double[] hn = rmsNorm(x[t], 0, hidden, w.get(p + "post_attention_layernorm.weight"), eps);
                double[] gate = linear(hn, w.get(p + "mlp.gate_proj.weight"), null, inter);
                double[] up = linear(hn, w.get(p + "mlp.up_proj.weight"), null, inter);
                double[] act = new double[inter];
                for (int i = 0; i < inter; i++) {
                    act[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                }
                double[] down = linear(act, w.get(p + "mlp.down_proj.weight"), null, hidden);
                for (int i = 0; i < hidden; i++) {
                    x[t][i] += down[i];
                }
            }
        }

        double[] head = c.tieWordEmbeddings() ? embed : w.get("lm_head.weight");
        double[][] logits = new double[n][];
        for (int t = 0; t < n; t++) {
            double[] xn = rmsNorm(x[t], 0, hidden, w.get("model.norm.weight"), eps);
            logits[t] = linear(xn, head, null, c.vocabSize());
        }
        return logits;
    }

    /** Greedy continuation: {@code count} argmax tokens (lowest id on ties), recomputing from scratch each step. */
    int[] greedy(int[] prompt, int count) {
        int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + count);
        for (int s = 0; s < count; s++) {
            int len = prompt.length + s;
            double[][] lg = logits(java.util.Arrays.copyOf(seq, len));
            seq[len] = argmax(lg[len - 1]);
        }
        return java.util.Arrays.copyOfRange(seq, prompt.length, seq.length);
    }

    static int argmax(double[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }

    /** x / sqrt(mean(x^2) + eps) * weight over x[off, off+len). */
    private static double[] rmsNorm(double[] x, int off, int len, double[] weight, double eps) {
        double ss = 0;
        for (int i = 0; i < len; i++) {
            ss += x[off + i] * x[off + i];
        }
        double inv = 1.0 / Math.sqrt(ss / len + eps);
        double[] out = new double[len];
        for (int i = 0; i < len; i++) {
            out[i] = x[off + i] * inv * weight[i];
        }
        return out;
    }

    /** y = W x + b with W (out, in) row-major. */
    private static double[] linear(double[] x, double[] weight, double[] bias, int out) {
        int in = x.length;
        if (weight.length != out * in) {
            throw new IllegalStateException("reference: weight of " + weight.length + " values for " + out + "x" + in);
        }
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = bias == null ? 0 : bias[o];
            int row = o * in;
            for (int i = 0; i < in; i++) {
                s += weight[row + i] * x[i];
            }
            y[o] = s;
        }
        return y;
    }

    /**
     * transformers' apply_rotary_pos_emb on one head at x[off, off+d): x * cos + rotate_half(x) * sin with
     * cos/sin of cat(freqs, freqs) and rotate_half(x) = cat(-x2, x1): element i pairs with i + d/2.
     */
    private void rope(double[] x, int off, int position) {
        int half = c.headDim() / 2;
        for (int i = 0; i < half; i++) {
            double angle = position * invFreq[i];
            double cos = Math.cos(angle);
            double sin = Math.sin(angle);
            double a = x[off + i];
            double b = x[off + i + half];
            x[off + i] = a * cos - b * sin;
            x[off + i + half] = b * cos + a * sin;
        }
    }
}
