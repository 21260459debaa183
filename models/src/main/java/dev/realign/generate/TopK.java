package dev.realign.generate;

import java.util.PriorityQueue;

/** Indices of the k largest values, largest first, ties by lower index; O(n log k). */
final class TopK {
    private TopK() {}

    static int[] indices(float[] values, int k) {
        int count = Math.min(k, values.length);
        // Min-heap on (value, -index): the root is the weakest of the current best.
        PriorityQueue<Integer> heap = new PriorityQueue<>(count + 1, (a, b) ->
                values[a] != values[b] ? Float.compare(values[a], values[b]) : Integer.compare(b, a));
        for (int i = 0; i < values.length; i++) {
            heap.add(i);
            if (heap.size() > count) {
                heap.poll();
            }
        }
        int[] out = new int[heap.size()];
        for (int i = out.length - 1; i >= 0; i--) {
            out[i] = heap.poll();
        }
        return out;
    }
}
