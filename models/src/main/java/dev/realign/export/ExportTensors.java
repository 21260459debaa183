package dev.realign.export;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.realign.checkpoint.WeightSource;
import dev.realign.model.Weights;

/**
 * What an export reads weights from: named floating-point tensors in Hugging Face names and row-major
 * layout. A checkpoint folder and an engine {@link Weights} view (the base model, or a merged profile whose
 * overrides replace some tensors) both give one, so anything the engine can serve can be exported.
 */
public interface ExportTensors {
    boolean contains(String name);

    /** Row-major dimensions, outermost first. */
    long[] shape(String name);

    /** A fresh fp32 copy of the tensor's values, row-major. */
    float[] floats(String name);

    /** Tensors of a checkpoint (F32, F16, BF16 and F64 are read as fp32). The source stays open and owned by the caller. */
    static ExportTensors of(WeightSource source) {
        return new ExportTensors() {
            @Override
            public boolean contains(String name) {
                return source.contains(name);
            }

            @Override
            public long[] shape(String name) {
                return source.info(name).shape();
            }

            @Override
            public float[] floats(String name) {
                if (!source.info(name).dtype().isFloating()) {
                    throw new GgufExportException(source.path() + ": tensor '" + name + "' has dtype "
                            + source.info(name).dtype() + ", not a floating type");
                }
                return source.floats(name);
            }
        };
    }

    /**
     * Tensors of an engine view: fp16 (or any other floating type) is widened to fp32 in a temporary copy that
     * is freed at once, so exporting does not grow the model's native memory.
     */
    static ExportTensors of(Weights weights) {
        return new ExportTensors() {
            @Override
            public boolean contains(String name) {
                return weights.tensors().containsKey(name);
            }

            @Override
            public long[] shape(String name) {
                return weights.tensor(name).getShape().getShape();
            }

            @Override
            public float[] floats(String name) {
                NDArray array = weights.tensor(name);
                if (array.getDataType() == DataType.FLOAT32) {
                    return array.toFloatArray();
                }
                if (!array.getDataType().isFloating()) {
                    throw new GgufExportException("tensor '" + name + "' has type " + array.getDataType()
                            + ", not a floating type");
                }
                NDArray wide = array.toType(DataType.FLOAT32, true);
                try {
                    return wide.toFloatArray();
                } finally {
                    wide.close();
                }
            }
        };
    }
}
