package dev.realign.model.matvec;

/** Element types the decode kernel reads weights in. F16 is IEEE binary16, widened to fp32 in registers. */
public enum WeightType {
    F32(4),
    F16(2);

    private final int bytes;

    WeightType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }
}
