package dev.realign.model;

import ai.djl.ndarray.NDArray;
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
 * profiles (ratios) use it.
 */
public final class LoraBatch {
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
