package dev.realign.tokenize;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

class IncrementalDetokenizerTest {
    private static Tokenizer tokenizer;

    @BeforeContainer
    static void load() {
        tokenizer = Tokenizer.load(TestTokenizers.modelDir());
    }

    @AfterContainer
    static void close() {
        tokenizer.close();
    }

    @Provide
    Arbitrary<String> unicode() {
        // Long enough that many texts outgrow the window and restart it several times.
        return UnicodeArbitraries.text().list().ofMaxSize(4).map(parts -> String.join("", parts));
    }

    @Property(tries = 300)
    void streamedPiecesConcatenateToTheDecodedText(@ForAll("unicode") String text) {
        int[] ids = tokenizer.encode(text);
        List<String> pieces = stream(ids);
        assertThat(String.join("", pieces)).isEqualTo(tokenizer.decode(ids)).isEqualTo(text);
        if (text.indexOf('\uFFFD') < 0) {
            assertThat(pieces).noneMatch(piece -> piece.indexOf('\uFFFD') >= 0);
        }
    }

    @Provide
    Arbitrary<int[]> anyIds() {
        // Arbitrary ids include lone continuation bytes and truncated sequences: invalid UTF-8 on purpose.
        int vocab = tokenizer.vocabSize();
        return Arbitraries.integers().between(0, vocab - 1).array(int[].class).ofMaxSize(120);
    }

    @Property(tries = 300)
    void anyIdSequenceStreamsToItsDecodedText(@ForAll("anyIds") int[] ids) {
        assertThat(String.join("", stream(ids))).isEqualTo(tokenizer.decode(ids));
    }

    @Example
    void aCharacterSpanningTokensIsHeldUntilComplete() {
        // 日 is E6 97 A5: fed one byte token at a time, nothing comes out until the third.
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        assertThat(detokenizer.next('a')).isEqualTo("a");
        assertThat(detokenizer.next(0xE6)).isEmpty();
        assertThat(detokenizer.next(0x97)).isEmpty();
        assertThat(detokenizer.next(0xA5)).isEqualTo("日");
        assertThat(detokenizer.next(0xF0)).isEmpty();
        assertThat(detokenizer.flush()).isEqualTo("\uFFFD");
    }

    @Example
    void promptContextIsNotEmitted() {
        int[] prompt = tokenizer.encode("Hello there, how are you");
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, prompt);
        StringBuilder out = new StringBuilder();
        for (int id : tokenizer.encode(" today? 日本語")) {
            out.append(detokenizer.next(id));
        }
        out.append(detokenizer.flush());
        assertThat(out).hasToString(" today? 日本語");
    }

    private static List<String> stream(int[] ids) {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            pieces.add(detokenizer.next(id));
        }
        pieces.add(detokenizer.flush());
        return pieces;
    }
}
