package dev.realign.model.synthetic;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The text the synthetic models' tokenizer is trained on: a few hundred lines of English, code and a dozen
 * other languages (accents, CJK, Cyrillic, emoji, combining marks, odd whitespace), so that common words
 * become single tokens while many characters still span several tokens.
 */
public final class SyntheticCorpus {
    private static final String RESOURCE = "corpus.txt";

    private SyntheticCorpus() {}

    /** One entry per line of the built-in corpus, in file order. */
    public static List<String> lines() {
        try (InputStream in = SyntheticCorpus.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + RESOURCE + " is missing beside " + SyntheticCorpus.class.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the built-in corpus", e);
        }
    }
}
