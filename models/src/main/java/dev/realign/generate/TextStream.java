package dev.realign.generate;

/** Turns generated token ids into text pieces, holding back bytes of a character not yet complete. */
public interface TextStream {
    /** Produces no text: for benchmarks and tests that only need the token ids. */
    TextStream NONE = new TextStream() {
        @Override
        public String push(int tokenId) {
            return "";
        }

        @Override
        public String flush() {
            return "";
        }
    };

    /** The new complete text that {@code tokenId} adds (possibly empty). */
    String push(int tokenId);

    /** Whatever is still held back, at the end of generation. */
    String flush();
}
