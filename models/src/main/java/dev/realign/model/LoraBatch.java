package dev.realign.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One forward for rows of different unmerged-LoRA profiles over the same base tensors (DESIGN §4/§5).
 * Each chunk of a step brings its own {@link Weights} view; all must share {@link Weights#withoutLora()}.
 * The combined view has, per projection, one term per distinct adapter factor pair (A, B) of the step,
 * with a (rows, 1) coefficient column: the chunk's coefficient on the chunk's token rows, zero elsewhere.
 * So the base's products run once for every row, and each adapter's (x A^T) B^T once per step however many
 * profiles (ratios) use it. Three or more distinct adapters on a projection run as one fused term.
 */
public final class LoraBatch {
    /** From this many distinct adapters on one projection, their terms run as one ({@link #fused}). */
    static final int FUSE_FROM = 3;

    private LoraBatch() {}

    /**
     * The weights for one forward over {@code chunks}, chunk i running on {@code perChunk.get(i)}.
     * Coefficient columns are created in {@code scope} (the step's manager) and die with it; the factors
     * stay the adapters'.
     *
     * @throws IllegalArgumentException when the views do not share their tensors
     */
    public static Weights combine(List<Weights> perChunk, List<SequenceChunk> chunks, NDManager scope) {
        if (perChunk.size() != chunks.size() || perChunk.isEmpty()) {
            throw new IllegalArgumentException(perChunk.size() + " weight views for " + chunks.size() + " chunks");
        }
        Weights first = perChunk.getFirst();
        Weights plain = first.withoutLora();
        boolean same = true;
        for (Weights w : perChunk) {
            if (w.withoutLora() != plain) {
                throw new IllegalArgumentException("chunks of one forward must share the base tensors: "
                        + "only unmerged LoRA terms may differ between their weights");
            }
            same &= w == first;
        }
        if (same) {
            return first; // one profile: its own view, scalar coefficients, nothing to build
        }
        int total = 0;
        int[] starts = new int[chunks.size()];
        for (int i = 0; i < chunks.size(); i++) {
            starts[i] = total;
            total += chunks.get(i).tokens().length;
        }
        final int rows = total;
        // weight name -> distinct factors in first-seen order -> coefficient of each token row
        Map<String, Map<Factor, float[]>> columns = new LinkedHashMap<>();
        for (int i = 0; i < chunks.size(); i++) {
            int from = starts[i];
            int to = from + chunks.get(i).tokens().length;
            for (var entry : perChunk.get(i).lora().entrySet()) {
                Map<Factor, float[]> factors = columns.computeIfAbsent(entry.getKey(), k -> new LinkedHashMap<>());
                for (LoraTerm term : entry.getValue()) {
                    if (term.rowCoefficients() != null) {
                        throw new IllegalArgumentException("weights of '" + entry.getKey() + "' are batched already");
                    }
                    float[] column = factors.computeIfAbsent(new Factor(term.a(), term.b()), f -> new float[rows]);
                    for (int r = from; r < to; r++) {
                        column[r] += term.coefficient(); // a profile naming one adapter twice adds its weights
                    }
                }
            }
        }
        Map<Column, NDArray> created = new HashMap<>(); // equal columns (same ratio, same scale) share one array
        Map<String, List<LoraTerm>> terms = new LinkedHashMap<>();
        for (var entry : columns.entrySet()) {
            if (entry.getValue().size() >= FUSE_FROM) {
                terms.put(entry.getKey(), List.of(fused(entry.getValue(), rows, created, scope)));
                continue;
            }
            List<LoraTerm> list = new ArrayList<>(entry.getValue().size());
            for (var factor : entry.getValue().entrySet()) {
                float[] values = factor.getValue();
                if (uniform(values)) {
                    list.add(new LoraTerm(factor.getKey().a(), factor.getKey().b(), values[0]));
                } else {
                    NDArray column = created.computeIfAbsent(new Column(values),
                            c -> scope.create(c.values(), new Shape(rows, 1))); // (rows, 1)
                    list.add(new LoraTerm(factor.getKey().a(), factor.getKey().b(), Float.NaN, column));
                }
            }
            terms.put(entry.getKey(), list);
        }
        return plain.withLora(terms);
    }

    /**
     * The distinct adapters of one projection as one term: A stacked (sum of ranks, in), B side by side
     * (out, sum of ranks), and a (rows, sum of ranks) coefficient matrix, each row's coefficient on its
     * adapter's rank block. Four ops and two concatenations, where k separate terms take 4k ops; at 1-20 us
     * a DJL op, copying the factors costs less from three adapters on (docs/benchmarks.md).
     */
    private static LoraTerm fused(Map<Factor, float[]> factors, int rows, Map<Column, NDArray> created,
                                  NDManager scope) {
        NDList as = new NDList(factors.size());
        NDList bs = new NDList(factors.size());
        int total = 0;
        for (Factor f : factors.keySet()) {
            as.add(f.a());
            bs.add(f.b());
            total += Math.toIntExact(f.a().getShape().get(0));
        }
        float[] coefficients = new float[rows * total];
        int offset = 0;
        for (var factor : factors.entrySet()) {
            int rank = Math.toIntExact(factor.getKey().a().getShape().get(0));
            float[] column = factor.getValue();
            for (int r = 0; r < rows; r++) {
                Arrays.fill(coefficients, r * total + offset, r * total + offset + rank, column[r]);
            }
            offset += rank;
        }
        NDArray a = NDArrays.concat(as, 0);  // (sum of ranks, in)
        NDArray b = NDArrays.concat(bs, 1);  // (out, sum of ranks)
        a.attach(scope); // the copies would otherwise live in the first adapter's manager until it closes
        b.attach(scope);
        int width = total;
        NDArray matrix = created.computeIfAbsent(new Column(coefficients),
                c -> scope.create(c.values(), new Shape(rows, width))); // (rows, sum of ranks)
        return new LoraTerm(a, b, Float.NaN, matrix);
    }

    private static boolean uniform(float[] values) {
        for (float v : values) {
            if (Float.floatToIntBits(v) != Float.floatToIntBits(values[0])) {
                return false;
            }
        }
        return true;
    }

    /** An adapter's factors on one projection, by identity (the same adapter version hands out the same arrays). */
    private record Factor(NDArray a, NDArray b) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Factor f && f.a == a && f.b == b;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(a) * 31 + System.identityHashCode(b);
        }
    }

    /** A coefficient column by content. */
    private record Column(float[] values) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Column c && Arrays.equals(c.values, values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }
    }
}
