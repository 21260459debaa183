package dev.realign.tokenize;

import java.util.Arrays;

/**
 * Turns a stream of generated token ids into a stream of text pieces that concatenate to the decoded text,
 * where a character whose UTF-8 bytes span several tokens is held back until its last byte arrives (a
 * piece never ends in a U+FFFD that the next token could still complete). One instance per sequence; not
 * thread-safe.
 *
 * <p>How (after vLLM's detokenizer): the tokens are decoded as a window, and the text the window decodes to
 * beyond what was already emitted is the new piece. A trailing U+FFFD is the tokenizer's rendering of an
 * incomplete byte sequence, so it is held. Decoding a window in context rather than a token alone keeps
 * decoders right that look at neighbours (SentencePiece's leading-space rule, WordPiece's {@code ##}).
 *
 * <p>Bounded cost: when the window exceeds {@link #MAX_WINDOW} tokens it restarts at the last
 * {@link #CONTEXT} tokens. Only lengths are compared across a restart, so a restart inside a character
 * (a few leading U+FFFD in the new window's text) is harmless: the already-emitted part is everything but a
 * held trailing U+FFFD, and that tail (at most 3 bytes, so within the last 3 tokens) decodes the same in
 * both windows because UTF-8 resynchronizes at every lead byte.
 */
public final class IncrementalDetokenizer {
    static final int MAX_WINDOW = 32;
    static final int CONTEXT = 8;
    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private int[] window = new int[MAX_WINDOW + 1];
    private int size;
    /** UTF-16 length of the window's decoded text that has been handed out. */
    private int emitted;

    /** A detokenizer for text generated from scratch (no prompt context). */
    public IncrementalDetokenizer(Tokenizer tokenizer) {
        this(tokenizer, new int[0]);
    }

    /**
     * A detokenizer for text that continues {@code prompt}: its last few tokens seed the window as context and
     * are not emitted. A character left incomplete at the end of the prompt counts as part of the prompt.
     */
    public IncrementalDetokenizer(Tokenizer tokenizer, int[] prompt) {
        this.tokenizer = tokenizer;
        int from = Math.max(0, prompt.length - CONTEXT);
        for (int i = from; i < prompt.length; i++) {
            window[size++] = prompt[i];
        }
        emitted = size == 0 ? 0 : tokenizer.decode(window, 0, size).length();
    }

    /** Adds one generated token; returns the text it completes, possibly empty. */
    public String next(int tokenId) {
        if (size == window.length) {
            window = Arrays.copyOf(window, size * 2);
        }
        window[size++] = tokenId;
        String text = tokenizer.decode(window, 0, size);
        boolean held = !text.isEmpty() && text.charAt(text.length() - 1) == REPLACEMENT;
        int stable = held ? text.length() - 1 : text.length();
        String piece = stable > emitted ? text.substring(emitted, stable) : "";
        emitted = Math.max(emitted, stable);
        if (size > MAX_WINDOW) {
            restartWindow(held);
        }
        return piece;
    }

    /** The held-back rest (an incomplete character shows as U+FFFD) at the end of the sequence. */
    public String flush() {
        String text = tokenizer.decode(window, 0, size);
        String piece = text.length() > emitted ? text.substring(emitted) : "";
        emitted = text.length();
        return piece;
    }

    private void restartWindow(boolean held) {
        System.arraycopy(window, size - CONTEXT, window, 0, CONTEXT);
        size = CONTEXT;
        String text = tokenizer.decode(window, 0, size);
        boolean stillHeld = held && !text.isEmpty() && text.charAt(text.length() - 1) == REPLACEMENT;
        emitted = stillHeld ? text.length() - 1 : text.length();
    }
}
