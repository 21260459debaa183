package dev.realign.benchmarks;

import dev.realign.generate.TextStream;

/** A text stream that detokenizes nothing: the benchmarks time the model, not the tokenizer. */
final class NoText implements TextStream {
    static final NoText INSTANCE = new NoText();

    private NoText() {}

    @Override
    public String push(int tokenId) {
        return "";
    }

    @Override
    public String flush() {
        return "";
    }
}
