package dev.realign.checkpoint;

import java.util.Arrays;
import java.util.Optional;

/** Element types Realign reads from and writes to checkpoints, named as safetensors names them. */
public enum DType {
    F32("F32", 4),
    F16("F16", 2),
    BF16("BF16", 2),
    I64("I64", 8),
    I32("I32", 4),
    I8("I8", 1),
    U8("U8", 1),
    BOOL("BOOL", 1),
    F64("F64", 8);

    private final String safetensorsName;
    private final int bytes;

    DType(String safetensorsName, int bytes) {
        this.safetensorsName = safetensorsName;
        this.bytes = bytes;
    }

    public String safetensorsName() {
        return safetensorsName;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** Whether this type holds weights the engine can compute with (after BF16 conversion). */
    public boolean isFloating() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    public static Optional<DType> fromSafetensors(String name) {
        return Arrays.stream(values()).filter(d -> d.safetensorsName.equals(name)).findFirst();
    }
}
