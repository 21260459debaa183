package dev.realign.tokenize;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Tuple;

/** Text that is hard on a byte-level tokenizer: every plane, emoji sequences, CJK, combining marks, whitespace runs. */
final class UnicodeArbitraries {
    private UnicodeArbitraries() {}

    static Arbitrary<String> text() {
        Arbitrary<String> piece = Arbitraries.frequencyOf(
                Tuple.of(6, codePoints(0x20, 0x7e)),
                Tuple.of(3, codePoints(0xa0, 0x24f)),
                Tuple.of(2, codePoints(0x300, 0x36f)),
                Tuple.of(3, codePoints(0x3040, 0x30ff)),
                Tuple.of(3, codePoints(0x4e00, 0x9fff)),
                Tuple.of(3, codePoints(0x1f300, 0x1faff)),
                Tuple.of(2, Arbitraries.of("\u200d", "\ufe0f", "\u200b", "\u00a0", "\u3000", "\u2028", "\r\n", "\u0000")),
                Tuple.of(3, Arbitraries.strings().withChars(" \t\n").ofMinLength(1).ofMaxLength(6)),
                Tuple.of(3, Arbitraries.of(" the", "The", " model", "ing", "'s", " 2024", "café", "日本語", "über",
                        "👨‍👩‍👧", "<|im_start|>", "<|im_end|>", "<|endoftext|>")),
                Tuple.of(2, Arbitraries.integers().between(0, 0x10ffff)
                        .filter(cp -> cp < 0xd800 || cp > 0xdfff)
                        .map(Character::toString)));
        return piece.list().ofMaxSize(40).map(UnicodeArbitraries::join);
    }

    private static Arbitrary<String> codePoints(int from, int to) {
        return Arbitraries.integers().between(from, to).map(Character::toString);
    }

    private static String join(List<String> pieces) {
        return String.join("", pieces);
    }
}
