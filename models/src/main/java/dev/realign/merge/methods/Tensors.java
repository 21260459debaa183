package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/** Manager bookkeeping shared by the methods: inputs are read through views in a scratch scope. */
final class Tensors {
    private Tensors() {}

    /**
     * An fp32 handle on {@code x} attached to {@code scope}: a view (no copy) when x is fp32, else a widened
     * copy. Operations on the handle put their results in {@code scope}, never in the caller's manager, and
     * closing the scope never frees the caller's array.
     */
    static NDArray fp32(NDArray x, NDManager scope) {
        NDArray y = x.getDataType() == DataType.FLOAT32 ? x.reshape(x.getShape()) : x.toType(DataType.FLOAT32, true);
        y.attach(scope);
        return y;
    }

    /** Moves a result computed in a scratch scope to {@code manager}; the scope may then be closed. */
    static NDArray keep(NDArray result, NDManager manager) {
        result.attach(manager);
        return result;
    }

    /** A scratch scope on the base's device under {@code manager}. */
    static NDManager scope(NDManager manager, NDArray base) {
        return manager.newSubManager(base.getDevice());
    }

    /** A scalar array's value as a double. */
    static double scalar(NDArray a) {
        return a.toType(DataType.FLOAT64, false).getDouble();
    }
}
