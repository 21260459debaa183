package dev.realign.merge;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.realign.checkpoint.CheckpointException;
import dev.realign.checkpoint.DType;
import dev.realign.checkpoint.FloatConversions;
import dev.realign.checkpoint.TensorInfo;
import dev.realign.checkpoint.WeightSource;
import dev.realign.model.LoadedModel;
import dev.realign.model.ModelConfig;
import dev.realign.model.Weights;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Loading a fine-tune of a base model from a folder, whatever its kind: a folder with
 * {@code adapter_config.json} is a PEFT LoRA adapter ({@link PeftLoraAdapter}), one with {@code config.json}
 * is a full fine-tuned checkpoint ({@link FullDeltaAdapter}). A folder with both is read as the adapter
 * (some tools copy the base's config.json beside an adapter); a folder with neither is an error.
 */
public final class Adapters {
    private Adapters() {}

    /** Which kind of fine-tune {@code dir} holds; a {@link CheckpointException} naming the folder if neither. */
    public static AdapterKind detect(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw CheckpointException.inFile(dir, Files.exists(dir) ? "is not a folder" : "no such folder");
        }
        if (Files.exists(dir.resolve(PeftLoraAdapter.CONFIG))) {
            return AdapterKind.LORA;
        }
        if (Files.exists(dir.resolve("config.json"))) {
            return AdapterKind.FULL_DELTA;
        }
        throw CheckpointException.inFile(dir, "is neither a PEFT adapter (no " + PeftLoraAdapter.CONFIG
                + ") nor a fine-tuned model folder (no config.json)");
    }

    /**
     * Loads the fine-tune in {@code dir} against a base model.
     *
     * @param base        the base's architecture
     * @param baseWeights the base's tensors as served (deltas are taken against these)
     * @param parent      the manager the source's own arrays are created under (a sub-manager, closed with it)
     */
    public static DeltaSource load(String name, Path dir, ModelConfig base, Weights baseWeights, NDManager parent) {
        return switch (detect(dir)) {
            case LORA -> PeftLoraAdapter.load(name, dir, base, baseWeights, parent);
            case FULL_DELTA -> FullDeltaAdapter.load(name, dir, base, baseWeights, parent);
        };
    }

    /** {@link #load(String, Path, ModelConfig, Weights, NDManager)} against a loaded base model. */
    public static DeltaSource load(String name, Path dir, LoadedModel base) {
        return load(name, dir, base.config(), base.weights(), base.manager());
    }

    /** Tensor helpers the delta sources share. */
    static final class Tensors {
        private Tensors() {}

        /** The index of the first NaN or infinite element, or -1. */
        static long firstNonFinite(DType dtype, ByteBuffer bytes, long count) {
            ByteBuffer in = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            int base = in.position();
            for (long i = 0; i < count; i++) {
                boolean finite = switch (dtype) {
                    case F32 -> Float.isFinite(in.getFloat(base + (int) (i * 4)));
                    case F64 -> Double.isFinite(in.getDouble(base + (int) (i * 8)));
                    // All-ones exponent: 5 bits for F16, 8 for BF16.
                    case F16 -> (in.getShort(base + (int) (i * 2)) & 0x7c00) != 0x7c00;
                    case BF16 -> (in.getShort(base + (int) (i * 2)) & 0x7f80) != 0x7f80;
                    default -> throw new IllegalArgumentException("not a floating type: " + dtype);
                };
                if (!finite) {
                    return i;
                }
            }
            return -1;
        }

        /** A floating tensor without NaN or Inf, else a {@link CheckpointException} naming file, tensor and element. */
        static void requireFiniteFloating(Path file, TensorInfo info, ByteBuffer bytes) {
            if (!info.dtype().isFloating()) {
                throw CheckpointException.inTensor(file, info.name(), "dtype " + info.dtype() + " is not a floating type");
            }
            long bad = firstNonFinite(info.dtype(), bytes, info.numel());
            if (bad >= 0) {
                throw CheckpointException.inTensor(file, info.name(), "holds a NaN or infinite value (element " + bad
                        + " of " + info.numel() + ")");
            }
        }

        /** Element {@code i} of a floating buffer as a float. */
        static float read(DType dtype, ByteBuffer le, long i) {
            return switch (dtype) {
                case F32 -> le.getFloat((int) (i * 4));
                case F16 -> Float.float16ToFloat(le.getShort((int) (i * 2)));
                case BF16 -> FloatConversions.bf16ToFloat(le.getShort((int) (i * 2)));
                case F64 -> (float) le.getDouble((int) (i * 8));
                default -> throw new IllegalArgumentException("not a floating type: " + dtype);
            };
        }

        /**
         * The bytes of {@code array} on the host, little-endian. On the CPU a view of the tensor's memory (valid
         * while the array lives); from another device a copy whose array is attached to {@code scratch}.
         */
        static ByteBuffer hostBytes(NDArray array, NDManager scratch) {
            NDArray host = array;
            if (!array.getDevice().equals(Device.cpu())) {
                host = array.toDevice(Device.cpu(), true);
                host.attach(scratch);
            }
            return host.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
        }

        /**
         * Whether a stored tensor, held the way the base holds its tensor (F32, or rounded to F16), is bit for bit
         * the base's tensor. Rounding the stored values to the base's type first means that a fine-tune that left a
         * tensor alone is not reported as changing it by the base's own F16 rounding.
         */
        static boolean sameAsServed(TensorInfo info, ByteBuffer stored, NDArray base, NDManager scratch) {
            DataType type = base.getDataType();
            ByteBuffer held = hostBytes(base, scratch);
            ByteBuffer in = stored.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            long n = info.numel();
            if ((type == DataType.FLOAT32 && info.dtype() == DType.F32)
                    || (type == DataType.FLOAT16 && info.dtype() == DType.F16)) {
                return held.remaining() == in.remaining() && held.mismatch(in) == -1;
            }
            if (type == DataType.FLOAT32) {
                for (long i = 0; i < n; i++) {
                    if (Float.floatToRawIntBits(read(info.dtype(), in, i)) != held.getInt((int) (i * 4))) {
                        return false;
                    }
                }
                return true;
            }
            if (type == DataType.FLOAT16) {
                for (long i = 0; i < n; i++) {
                    if (Float.floatToFloat16(read(info.dtype(), in, i)) != held.getShort((int) (i * 2))) {
                        return false;
                    }
                }
                return true;
            }
            throw new IllegalStateException("base tensor '" + info.name() + "' is held as " + type
                    + "; expected FLOAT32 or FLOAT16");
        }

        /** A stored floating tensor as an fp32 array in {@code manager} (BF16 widened in Java: DJL aborts on it). */
        static NDArray fp32(WeightSource source, TensorInfo info, NDManager manager) {
            ByteBuffer data = source.data(info.name());
            Shape shape = new Shape(info.shape());
            return switch (info.dtype()) {
                case F32 -> manager.create(data, shape, DataType.FLOAT32);
                case BF16 -> manager.create(FloatConversions.bf16ToF32Direct(data, info.numel()), shape, DataType.FLOAT32);
                case F16 -> manager.create(data, shape, DataType.FLOAT16).toType(DataType.FLOAT32, false);
                case F64 -> manager.create(data, shape, DataType.FLOAT64).toType(DataType.FLOAT32, false);
                default -> throw CheckpointException.inTensor(source.path(), info.name(), "dtype " + info.dtype()
                        + " is not a floating type");
            };
        }

        /** stored - base in fp32, allocated in {@code manager}; temporaries are freed before returning. */
        static NDArray minusBase(WeightSource source, TensorInfo info, NDArray base, NDManager manager) {
            try (NDManager scratch = manager.newSubManager()) {
                NDArray stored = fp32(source, info, scratch);
                NDArray base32 = base;
                if (base.getDataType() != DataType.FLOAT32) {
                    base32 = base.toType(DataType.FLOAT32, true); // created in the base's manager: move it
                    base32.attach(scratch);
                }
                NDArray delta = stored.sub(base32);
                delta.attach(manager);
                return delta;
            }
        }

        static MessageDigest sha256() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JDK lacks SHA-256", e);
            }
        }

        /** A length-prefixed string, so that no two field sequences hash alike. */
        static void update(MessageDigest digest, String text) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            update(digest, bytes.length);
            digest.update(bytes);
        }

        static void update(MessageDigest digest, long value) {
            digest.update(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array());
        }

        /** A tensor's identity and bytes: tag, name, dtype, shape, byte count, bytes. */
        static void update(MessageDigest digest, String tag, String name, DType dtype, long[] shape, ByteBuffer bytes) {
            update(digest, tag);
            update(digest, name);
            update(digest, dtype.safetensorsName());
            update(digest, shape.length);
            for (long d : shape) {
                update(digest, d);
            }
            update(digest, bytes.remaining());
            digest.update(bytes.duplicate());
        }
    }
}
