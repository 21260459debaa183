package dev.realign.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.realign.checkpoint.CheckpointException;
import dev.realign.checkpoint.DType;
import dev.realign.checkpoint.FloatConversions;
import dev.realign.checkpoint.TensorInfo;
import dev.realign.checkpoint.WeightSource;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Turns a checkpoint into engine tensors: checks that every tensor the config needs is there with the
 * right shape and a floating type, converts BF16 in Java (DJL aborts on BF16), and holds matrices in the
 * matrix type and norm vectors in fp32. F32/F16 data of the matrix type is wrapped from the memory map
 * without a copy on the CPU, so the source must outlive the tensors.
 */
public final class WeightLoader {
    private WeightLoader() {}

    /** The floating type most of the expected tensors are stored in (decides AUTO's matrix type). */
    public static DType storedType(ModelConfig config, WeightSource source) {
        String probe = TensorLayout.layer(0, "self_attn.q_proj.weight");
        return source.contains(probe) ? source.info(probe).dtype() : source.info(TensorLayout.EMBED).dtype();
    }

    public static Weights load(ModelConfig config, WeightSource source, NDManager manager, DataType matrixType) {
        SequencedMap<String, long[]> expected = TensorLayout.expected(config);
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (var entry : expected.entrySet()) {
            String name = entry.getKey();
            if (!source.contains(name)) {
                throw CheckpointException.inTensor(source.path(), name, "missing (the config "
                        + config.modelType() + " with " + config.numLayers() + " layers needs it)");
            }
            TensorInfo info = source.info(name);
            if (!Arrays.equals(info.shape(), entry.getValue())) {
                throw CheckpointException.inTensor(source.path(), name, "shape " + Arrays.toString(info.shape())
                        + " does not match the config, which needs " + Arrays.toString(entry.getValue()));
            }
            if (!info.dtype().isFloating()) {
                throw CheckpointException.inTensor(source.path(), name, "dtype " + info.dtype()
                        + " is not a floating type");
            }
            // Norm vectors stay fp32 (they scale fp32 activations); matrices and biases use the matrix type.
            boolean norm = name.endsWith("norm.weight");
            tensors.put(name, toArray(source, info, manager, norm ? DataType.FLOAT32 : matrixType));
        }
        return new Weights(config, tensors);
    }

    private static NDArray toArray(WeightSource source, TensorInfo info, NDManager manager, DataType target) {
        Shape shape = new Shape(info.shape());
        ByteBuffer data = source.data(info.name());
        DataType stored = switch (info.dtype()) {
            case F32 -> DataType.FLOAT32;
            case F16 -> DataType.FLOAT16;
            case F64 -> DataType.FLOAT64;
            case BF16 -> {
                data = FloatConversions.bf16ToF32Direct(data, info.numel());
                yield DataType.FLOAT32;
            }
            default -> throw CheckpointException.inTensor(source.path(), info.name(), "unsupported dtype " + info.dtype());
        };
        NDArray array = manager.create(data, shape, stored);
        if (stored == target) {
            return array;
        }
        NDArray converted = array.toType(target, true);
        array.close();
        if (target == DataType.FLOAT16 && converted.isInfinite().any().getBoolean()) {
            converted.close();
            throw CheckpointException.inTensor(source.path(), info.name(), "values overflow fp16; serve with --dtype f32");
        }
        return converted;
    }
}
