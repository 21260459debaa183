package dev.realign.merge.methods;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** The streaming helpers over chunk and block boundaries (production uses 2^24-element chunks). */
class FlatBlocksTest {

    @Property(tries = 20)
    void scanVisitsEveryElementOnceInOrder(@ForAll @IntRange(min = 1, max = 500) int n,
            @ForAll @IntRange(min = 1, max = 8) int blocksPerChunk, @ForAll @IntRange(min = 1, max = 64) int block) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = i * 0.5f - 7;
        }
        try (NDManager m = Fixtures.manager()) {
            NDArray a = m.create(x, new Shape(n));
            List<Float> seen = new ArrayList<>();
            List<Long> starts = new ArrayList<>();
            FlatBlocks.scan(a, block * blocksPerChunk, block, (start, data, length) -> {
                starts.add(start);
                for (int i = 0; i < length; i++) {
                    seen.add(data[i]);
                }
            });
            assertThat(seen).hasSize(n);
            for (int i = 0; i < n; i++) {
                assertThat(seen.get(i)).isEqualTo(x[i]);
            }
            assertThat(starts).allMatch(s -> s % block == 0);
        }
    }

    @Property(tries = 20)
    void maskBuilderJoinsChunksAndStraddlingPuts(@ForAll @IntRange(min = 1, max = 300) int n,
            @ForAll @IntRange(min = 1, max = 40) int chunk, @ForAll @IntRange(min = 1, max = 50) int put) {
        boolean[] expected = new boolean[n];
        try (NDManager m = Fixtures.manager()) {
            FlatBlocks.MaskBuilder b = new FlatBlocks.MaskBuilder(m, n, chunk);
            for (int start = 0; start < n; start += put) {
                int len = Math.min(put, n - start);
                byte[] flags = new byte[len];
                for (int i = 0; i < len; i++) {
                    expected[start + i] = (start + i) % 3 == 0 || (start + i) % 7 == 1;
                    flags[i] = (byte) (expected[start + i] ? 1 : 0);
                }
                b.put(start, flags, len);
            }
            NDArray mask = b.build();
            assertThat(mask.getDataType()).isEqualTo(DataType.BOOLEAN);
            assertThat(mask.getShape()).isEqualTo(new Shape(n));
            assertThat(mask.toBooleanArray()).containsExactly(expected);
        }
    }

    @Property(tries = 10)
    void drawsAtAnyOffsetMatchTheDocumentedStream(@ForAll @IntRange(min = 0, max = 140_000) int start,
            @ForAll @IntRange(min = 1, max = 70_000) int count, @ForAll long seed) {
        double[] all = Reference.uniforms(seed, "w", 3, start + count);
        int[] r = new int[count];
        SeededUniforms.draws(SeededUniforms.key(seed, "w", 3), start, count, r);
        for (int i = 0; i < count; i++) {
            assertThat(r[i] / 16777216.0).isEqualTo(all[start + i]);
        }
    }
}
