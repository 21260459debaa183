package dev.realign.model;

import ai.djl.ndarray.types.DataType;
import dev.realign.checkpoint.DType;
import java.util.Locale;

/**
 * The type weight matrices are held and multiplied in. Norms, softmax, the KV cache and logits stay fp32.
 * {@code AUTO} keeps an F32 checkpoint in F32 (exact) and holds F16/BF16 checkpoints as F16 (DJL has no BF16).
 */
public enum ComputeType {
    AUTO, F32, F16;

    public static ComputeType parse(String text) {
        try {
            return valueOf(text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--dtype must be auto, f32 or f16, got '" + text + "'");
        }
    }

    /** The concrete type for a checkpoint whose matrices are stored as {@code stored}. */
    public DataType resolve(DType stored) {
        return switch (this) {
            case F32 -> DataType.FLOAT32;
            case F16 -> DataType.FLOAT16;
            case AUTO -> stored == DType.F32 || stored == DType.F64 ? DataType.FLOAT32 : DataType.FLOAT16;
        };
    }
}
