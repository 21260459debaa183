package dev.realign.model.matvec;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix as the decode kernel reads it: row-major (out, in) elements of {@code type} in native
 * memory that someone else owns (an NDArray, usually over a memory-mapped checkpoint). The view never
 * frees the memory and must not be used after the owning tensor is closed (see {@link WeightViews}).
 *
 * @param data        (out, in) row-major, little-endian, exactly out * in * type.bytes() bytes
 * @param outFeatures rows of the matrix (the product's output width)
 * @param inFeatures  columns (the product's input width)
 */
public record WeightView(MemorySegment data, int outFeatures, int inFeatures, WeightType type) {
    public WeightView {
        if ((long) outFeatures * inFeatures * type.bytes() != data.byteSize()) {
            throw new IllegalArgumentException("a (" + outFeatures + ", " + inFeatures + ") " + type
                    + " matrix needs " + (long) outFeatures * inFeatures * type.bytes() + " bytes, the segment has "
                    + data.byteSize());
        }
    }

    public long bytes() {
        return data.byteSize();
    }
}
