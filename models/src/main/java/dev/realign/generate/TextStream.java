package dev.realign.generate;

/** Turns generated token ids into text pieces, holding back bytes of a character not yet complete. */
public interface TextStream {
    /** The new complete text that {@code tokenId} adds (possibly empty). */
    String push(int tokenId);

    /** Whatever is still held back, at the end of generation. */
    String flush();
}
