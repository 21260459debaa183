package dev.realign.model;

/**
 * New tokens of one sequence for one forward call. With a cache they are appended at its current length;
 * without one (training, scoring) they form a whole sequence starting at position 0.
 *
 * @param cache  the sequence's KV cache, or null for a cache-free full-sequence forward
 * @param tokens token ids to run, at least one
 */
public record SequenceChunk(KvCache cache, int[] tokens) {
    public SequenceChunk {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("a chunk needs at least one token");
        }
        tokens = tokens.clone();
    }

    public int start() {
        return cache == null ? 0 : cache.length();
    }

    public int end() {
        return start() + tokens.length;
    }
}
