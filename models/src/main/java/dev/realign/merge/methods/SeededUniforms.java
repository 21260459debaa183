package dev.realign.merge.methods;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * The reproducible random numbers behind DARE and DELLA masks: a pure function of (seed, tensor name,
 * adapter index, element index), so a profile evicted from the cache is rebuilt bit for bit, on any device
 * and whatever the thread count.
 *
 * <p>The scheme (stable: changing it changes every seeded profile):
 * <pre>
 * key      = mix64(mix64(seed ^ fnv1a64(utf8(tensorName))) + (adapterIndex + 1) * 0x9E3779B97F4A7C15)
 * block b  = elements [b * 65536, (b + 1) * 65536) of the row-major flattened tensor
 * rng_b    = new java.util.SplittableRandom(mix64(key + (b + 1) * 0xD1B54A32D192ED03))
 * r_j      = rng_b.nextInt() >>> 8          (24 bits, drawn in element order within the block)
 * u_j      = r_j / 2^24                     (a float in [0, 1), exact in fp32)
 * </pre>
 * {@code mix64} is the finalizer of SplittableRandom (Stafford's variant 13). An entry is kept with
 * probability p when {@code u_j < p}. Independent blocks let a later version fill them in parallel without
 * changing a single mask.
 */
public final class SeededUniforms {
    /** Elements per independently seeded block. */
    public static final int BLOCK = 1 << 16;

    private static final long ADAPTER_GAMMA = 0x9E3779B97F4A7C15L;
    private static final long BLOCK_GAMMA = 0xD1B54A32D192ED03L;

    private SeededUniforms() {}

    /** The stream key of one (seed, tensor, adapter). */
    public static long key(long seed, String tensorName, int adapterIndex) {
        return mix64(mix64(seed ^ fnv1a64(tensorName)) + (adapterIndex + 1L) * ADAPTER_GAMMA);
    }

    /** The 24-bit draws {@code r_j} of elements [start, start + count) of stream {@code key}, into {@code out[0, count)}. */
    static void draws(long key, long start, int count, int[] out) {
        long end = start + count;
        long j = start;
        int at = 0;
        while (j < end) {
            long block = j / BLOCK;
            long blockStart = block * BLOCK;
            SplittableRandom rng = new SplittableRandom(mix64(key + (block + 1) * BLOCK_GAMMA));
            for (long skip = blockStart; skip < j; skip++) {
                rng.nextInt();
            }
            int len = (int) (Math.min(end, blockStart + BLOCK) - j);
            for (int i = 0; i < len; i++) {
                out[at + i] = rng.nextInt() >>> 8;
            }
            at += len;
            j += len;
        }
    }

    /**
     * A flat BOOLEAN array of {@code n} elements, true where {@code u_j < p}: the Bernoulli(p) keep mask.
     * Allocated in {@code manager}.
     */
    public static NDArray bernoulliMask(NDManager manager, long key, long n, double p) {
        // u_j < p  <=>  r_j < p * 2^24  <=>  r_j < ceil(p * 2^24) for whole r_j
        int bound = (int) Math.min(1 << 24, Math.ceil(p * 0x1p24));
        FlatBlocks.MaskBuilder mask = new FlatBlocks.MaskBuilder(manager, n);
        int[] r = new int[(int) Math.min(BLOCK, Math.max(n, 1))];
        byte[] flags = new byte[r.length];
        for (long start = 0; start < n; start += BLOCK) {
            int count = (int) Math.min(BLOCK, n - start);
            draws(key, start, count, r);
            for (int i = 0; i < count; i++) {
                flags[i] = (byte) (r[i] < bound ? 1 : 0);
            }
            mask.put(start, flags, count);
        }
        return mask.build();
    }

    /** The uniforms {@code u_j} of elements [start, start + count) as a flat FLOAT32 array in {@code manager}. */
    public static NDArray uniforms(NDManager manager, long key, long start, int count) {
        int[] r = new int[count];
        draws(key, start, count, r);
        float[] u = new float[count];
        for (int i = 0; i < count; i++) {
            u[i] = r[i] * 0x1p-24f;
        }
        return manager.create(u);
    }

    /** Stafford's variant 13 64-bit finalizer (as in SplittableRandom). */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** FNV-1a, 64 bits, over the UTF-8 bytes of {@code s}. */
    static long fnv1a64(String s) {
        long h = 0xCBF29CE484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001B3L;
        }
        return h;
    }

}
