package dev.realign.model;

/** The seven linear projections of a Llama-family decoder layer, in the order the forward runs them. */
public enum ProjectionKind {
    Q("self_attn.q_proj"),
    K("self_attn.k_proj"),
    V("self_attn.v_proj"),
    O("self_attn.o_proj"),
    GATE("mlp.gate_proj"),
    UP("mlp.up_proj"),
    DOWN("mlp.down_proj");

    private final String module;

    ProjectionKind(String module) {
        this.module = module;
    }

    /** The Hugging Face module path inside a layer, e.g. {@code self_attn.q_proj}. */
    public String module() {
        return module;
    }

    /** The checkpoint name of this projection's weight in {@code layer}. */
    public String weightName(int layer) {
        return TensorLayout.layer(layer, module + ".weight");
    }

    public Projection of(LayerWeights w) {
        return switch (this) {
            case Q -> w.q();
            case K -> w.k();
            case V -> w.v();
            case O -> w.o();
            case GATE -> w.gate();
            case UP -> w.up();
            case DOWN -> w.down();
        };
    }
}
