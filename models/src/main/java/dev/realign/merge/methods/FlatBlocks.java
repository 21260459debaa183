package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Streams an fp32 tensor's values through Java in blocks of {@link SeededUniforms#BLOCK} elements (aligned to
 * the flat index, like the random draws), and collects per-element keep flags into a BOOLEAN mask.
 *
 * <p>Selections that DJL has no fast operation for are done here: an exact k-th magnitude (PyTorch's
 * {@code kthvalue} is not exposed, and {@code topk} with k near numel/2 took 1.3 s on 16.7M entries against
 * a few tens of ms for two histogram passes), and DELLA's per-row ranking ({@code argsort} twice took
 * 7 s on the same tensor). On CPU the values are read in place (a direct buffer on the tensor's memory); on
 * another device they are copied to the host once per chunk.
 */
final class FlatBlocks {
    /** Elements per native slice read at once (a multiple of the block). */
    static final int DEFAULT_CHUNK = 1 << 24;

    private FlatBlocks() {}

    /** Receives consecutive blocks: the values of elements [start, start + length) in {@code data[0, length)}. */
    @FunctionalInterface
    interface BlockVisitor {
        void visit(long start, float[] data, int length);
    }

    /** Visits every element of {@code x} (fp32, any shape, row-major) in order. */
    static void scan(NDArray x, BlockVisitor visitor) {
        scan(x, DEFAULT_CHUNK, SeededUniforms.BLOCK, visitor);
    }

    /** As {@link #scan(NDArray, BlockVisitor)} with explicit sizes ({@code chunk} a multiple of {@code block}). */
    static void scan(NDArray x, int chunk, int block, BlockVisitor visitor) {
        if (x.getDataType() != DataType.FLOAT32) {
            throw new IllegalStateException("expected FLOAT32, got " + x.getDataType());
        }
        long n = x.size();
        float[] data = new float[(int) Math.min(block, Math.max(n, 1))];
        try (NDManager scope = x.getManager().newSubManager()) {
            NDArray flat = x.reshape(-1);
            flat.attach(scope);
            for (long start = 0; start < n; start += chunk) {
                long end = Math.min(n, start + chunk);
                NDArray slice = start == 0 && end == n ? flat : flat.get(new NDIndex("{}:{}", start, end));
                FloatBuffer values = slice.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
                for (long b = start; b < end; b += block) {
                    int len = (int) Math.min(block, end - b);
                    values.get(data, 0, len);
                    visitor.visit(b, data, len);
                }
                if (slice != flat) {
                    slice.close();
                }
            }
        }
    }

    /**
     * Collects keep flags, written in flat order, into a BOOLEAN array: chunks of direct memory wrapped
     * without a copy on CPU, joined at the end.
     */
    static final class MaskBuilder {
        private final NDManager manager;
        private final long n;
        private final int chunk;
        private final NDList parts = new NDList();
        private ByteBuffer current;
        private long currentStart;

        MaskBuilder(NDManager manager, long n) {
            this(manager, n, DEFAULT_CHUNK);
        }

        MaskBuilder(NDManager manager, long n, int chunk) {
            this.manager = manager;
            this.n = n;
            this.chunk = chunk;
        }

        /** Sets the flags of elements [start, start + length) from {@code flags} (0 or 1), in increasing order. */
        void put(long start, byte[] flags, int length) {
            int done = 0;
            while (done < length) {
                long index = start + done;
                if (current == null || index >= currentStart + current.capacity()) {
                    flush();
                    currentStart = index - index % chunk;
                    current = ByteBuffer.allocateDirect((int) Math.min(chunk, n - currentStart));
                }
                int room = (int) (currentStart + current.capacity() - index);
                int count = Math.min(room, length - done);
                current.put((int) (index - currentStart), flags, done, count);
                done += count;
            }
        }

        /** The mask, flat (n), in the builder's manager. */
        NDArray build() {
            flush();
            if (parts.isEmpty()) {
                return manager.zeros(new Shape(n), DataType.BOOLEAN);
            }
            if (parts.size() == 1) {
                return parts.get(0);
            }
            NDArray all = NDArrays.concat(parts);
            parts.close();
            return all;
        }

        private void flush() {
            if (current != null) {
                parts.add(manager.create(current, new Shape(current.capacity()), DataType.BOOLEAN));
                current = null;
            }
        }
    }
}
