package dev.realign.model.matvec;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import com.google.common.collect.MapMaker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.ConcurrentMap;

/**
 * Zero-copy views of weight NDArrays for the decode kernel, cached per tensor.
 *
 * <p>How the view is made: on a CPU, contiguous, dense PtNDArray, DJL 0.36's {@code toByteBuffer(true)}
 * returns {@code torchDirectByteBuffer}: a direct buffer over the tensor's own storage (JNI
 * NewDirectByteBuffer on data_ptr, nbytes), no copy; for a memory-mapped checkpoint that is the mapping
 * itself. On a non-contiguous tensor it would silently make a contiguous copy attached to the tensor's
 * manager, so contiguity is checked first through libtorch's {@code is_contiguous} (not public in DJL:
 * reached by reflection; when that fails no tensor gets a view and every product stays on libtorch).
 *
 * <p>Ownership: the view owns nothing. The tensor's owner (the model, a merged profile) closes it, and
 * the view's memory dies with it. The cache holds tensors weakly (by identity) and every lookup first
 * checks {@link NDArray#isReleased()}, so a closed tensor is never read; callers look a view up for each
 * product and drop it when the product returns, the same lifetime the NDArray path gives the tensor.
 */
public final class WeightViews {
    private static final ConcurrentMap<NDArray, Optional<WeightView>> CACHE =
            new MapMaker().weakKeys().concurrencyLevel(2).makeMap(); // weak keys compare by identity
    private static final MethodHandle IS_CONTIGUOUS = isContiguousHandle();

    private WeightViews() {}

    /**
     * A view of a (out, in) F32 or F16 matrix on the CPU, or empty when the kernel cannot read it in place
     * (another device, dtype, rank or layout, a closed tensor, or an F16 matrix holding Inf or NaN: checked
     * once, when the view is made, by a pass over the matrix).
     */
    public static Optional<WeightView> of(NDArray weight) {
        if (weight.isReleased()) {
            CACHE.remove(weight);
            return Optional.empty();
        }
        return CACHE.computeIfAbsent(weight, WeightViews::create);
    }

    private static Optional<WeightView> create(NDArray weight) {
        if (IS_CONTIGUOUS == null || !(weight instanceof PtNDArray pt) || !Device.cpu().equals(weight.getDevice())
                || weight.isSparse() || weight.getShape().dimension() != 2) {
            return Optional.empty();
        }
        WeightType type;
        if (weight.getDataType() == DataType.FLOAT32) {
            type = WeightType.F32;
        } else if (weight.getDataType() == DataType.FLOAT16) {
            type = WeightType.F16;
        } else {
            return Optional.empty();
        }
        long out = weight.getShape().get(0);
        long in = weight.getShape().get(1);
        if (out > Integer.MAX_VALUE || in > Integer.MAX_VALUE || !contiguous(pt)) {
            return Optional.empty();
        }
        ByteBuffer data = weight.toByteBuffer(true); // contiguous CPU tensor: its own storage, no copy
        if (!data.isDirect() || data.capacity() != out * in * type.bytes()) {
            return Optional.empty();
        }
        MemorySegment segment = MemorySegment.ofBuffer(data);
        if (type == WeightType.F16 && !MatVec.allFinite(segment)) {
            return Optional.empty(); // the kernel's widening is exact for finite halves only
        }
        return Optional.of(new WeightView(segment, (int) out, (int) in, type));
    }

    private static boolean contiguous(PtNDArray array) {
        try {
            return (boolean) IS_CONTIGUOUS.invokeExact((long) array.getHandle());
        } catch (Throwable t) {
            return false;
        }
    }

    /** libtorch's is_contiguous through DJL's package-private JNI binding, as (long handle) -> boolean. */
    private static MethodHandle isContiguousHandle() {
        try {
            Class<?> library = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary");
            Field lib = library.getDeclaredField("LIB");
            lib.setAccessible(true);
            Method method = library.getDeclaredMethod("torchIsContiguous", long.class);
            method.setAccessible(true);
            return MethodHandles.lookup().unreflect(method).bindTo(lib.get(null))
                    .asType(MethodType.methodType(boolean.class, long.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
