package dev.realign.model.synthetic;

/**
 * The Llama-family variants {@link SyntheticModels} writes, each with the config conventions and tensor set
 * of its Hugging Face original.
 */
public enum Architecture {
    /** Llama 2: multi-head attention (as many key/value heads as query heads), RoPE theta 10000. */
    LLAMA2("llama", "LlamaForCausalLM", 10_000.0, 1e-5, false, false, false),
    /** Llama 3.1: grouped-query attention, RoPE theta 500000 with llama3 frequency scaling. */
    LLAMA3("llama", "LlamaForCausalLM", 500_000.0, 1e-5, false, false, false),
    /** Mistral 7B v0.1: grouped-query attention with a sliding attention window. */
    MISTRAL("mistral", "MistralForCausalLM", 10_000.0, 1e-5, false, false, false),
    /** Qwen2 / 2.5: biases on the q, k and v projections, tied input and output embeddings. */
    QWEN2("qwen2", "Qwen2ForCausalLM", 1_000_000.0, 1e-6, true, false, true),
    /** Qwen3: RMSNorm on each head's queries and keys, an explicit head_dim, tied embeddings, no biases. */
    QWEN3("qwen3", "Qwen3ForCausalLM", 1_000_000.0, 1e-6, false, true, true);

    private final String modelType;
    private final String architectureClass;
    private final double ropeTheta;
    private final double rmsNormEps;
    private final boolean qkvBias;
    private final boolean qkNorm;
    private final boolean tiedEmbeddings;

    Architecture(String modelType, String architectureClass, double ropeTheta, double rmsNormEps,
            boolean qkvBias, boolean qkNorm, boolean tiedEmbeddings) {
        this.modelType = modelType;
        this.architectureClass = architectureClass;
        this.ropeTheta = ropeTheta;
        this.rmsNormEps = rmsNormEps;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
        this.tiedEmbeddings = tiedEmbeddings;
    }

    /** config.json's {@code model_type}. */
    public String modelType() {
        return modelType;
    }

    /** config.json's {@code architectures[0]}. */
    public String architectureClass() {
        return architectureClass;
    }

    public double ropeTheta() {
        return ropeTheta;
    }

    public double rmsNormEps() {
        return rmsNormEps;
    }

    /** Whether q/k/v projections carry {@code .bias} tensors. */
    public boolean qkvBias() {
        return qkvBias;
    }

    /** Whether each layer has {@code self_attn.q_norm} and {@code self_attn.k_norm}. */
    public boolean qkNorm() {
        return qkNorm;
    }

    /** Whether {@code lm_head} is the embedding matrix (then the checkpoint has no {@code lm_head.weight}). */
    public boolean tiedEmbeddings() {
        return tiedEmbeddings;
    }

    /** Whether config.json always states {@code head_dim} (Qwen3's differs from hidden/heads). */
    public boolean explicitHeadDim() {
        return this == QWEN3;
    }
}
