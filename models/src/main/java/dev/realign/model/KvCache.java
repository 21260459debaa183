package dev.realign.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * One sequence's keys and values, preallocated for the positions it may reach. It owns its native
 * memory through its own manager: closing the cache frees the sequence.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    // Head-major: a head's positions are contiguous, so attention multiplies the cached keys and values (and a
    // batch of them stacked) as they lie, where a position-major cache made libtorch copy them into this
    // layout at every matMul (docs/benchmarks.md, "Where a batched step goes").
    private final NDArray[] keys;     // per layer (kvHeads, capacity, headDim)
    private final NDArray[] values;   // per layer (kvHeads, capacity, headDim)
    private final int capacity;
    private int length;

    public KvCache(ModelConfig config, int capacity, NDManager parent) {
        if (capacity <= 0 || capacity > config.maxPositions()) {
            throw new IllegalArgumentException("cache capacity " + capacity + " outside 1.."
                    + config.maxPositions());
        }
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        this.keys = new NDArray[config.numLayers()];
        this.values = new NDArray[config.numLayers()];
        Shape shape = new Shape(config.numKvHeads(), capacity, config.headDim());
        try {
            for (int i = 0; i < keys.length; i++) {
                keys[i] = manager.zeros(shape, DataType.FLOAT32);
                values[i] = manager.zeros(shape, DataType.FLOAT32);
            }
        } catch (RuntimeException e) {
            manager.close(); // an allocation that fails halfway (out of memory) must not keep the other half
            throw e;
        }
    }

    /** Positions already cached: the next token's position. */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /** Writes a chunk's keys and values (tokens, kvHeads, headDim) at positions [length, length + tokens). */
    void write(int layer, NDArray k, NDArray v) {
        int end = length + Math.toIntExact(k.getShape().get(0));
        if (end > capacity) {
            throw new IllegalStateException("KV cache full: " + end + " positions > capacity " + capacity);
        }
        NDIndex positions = new NDIndex().addAllDim().addSliceDim(length, end); // not "{}:{}": parsing it costs
        keys[layer].set(positions, k.transpose(1, 0, 2));
        values[layer].set(positions, v.transpose(1, 0, 2));
    }

    /** Keys of positions [0, end), attached to {@code scope}: (kvHeads, end, headDim). */
    NDArray keys(int layer, int end, NDManager scope) {
        NDArray view = keys[layer].get(new NDIndex().addAllDim().addSliceDim(0, end));
        view.attach(scope);
        return view;
    }

    /** Values of positions [0, end), attached to {@code scope}: (kvHeads, end, headDim). */
    NDArray values(int layer, int end, NDManager scope) {
        NDArray view = values[layer].get(new NDIndex().addAllDim().addSliceDim(0, end));
        view.attach(scope);
        return view;
    }

    /** Marks {@code tokens} more positions as filled, once every layer has written them. */
    void advance(int tokens) {
        length += tokens;
    }

    @Override
    public void close() {
        manager.close();
    }
}
