package dev.realign.tokenize;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.model.synthetic.SyntheticModels;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

class TokenizerTest {
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
        return UnicodeArbitraries.text();
    }

    @Property(tries = 500)
    void decodeInvertsEncode(@ForAll("unicode") String text) {
        assertThat(tokenizer.decode(tokenizer.encode(text))).isEqualTo(text);
    }

    @Example
    void commonWordsAreMergedIntoFewerTokensThanBytes() {
        String text = "The weather was cold in the morning and the children were playing in the garden.";
        int[] ids = tokenizer.encode(text);
        assertThat(ids.length).isLessThan(text.getBytes(StandardCharsets.UTF_8).length / 2);
        assertThat(tokenizer.encode(" the")).hasSize(1);
        assertThat(tokenizer.tokenText(tokenizer.encode(" the")[0])).isEqualTo(" the");
    }

    @Example
    void specialTokensInTextMapToTheirIds() {
        var trained = SyntheticModels.tokenizer();
        int[] ids = tokenizer.encode("<|im_start|>user\nHi<|im_end|>\n<|endoftext|>");
        assertThat(ids[0]).isEqualTo(trained.imStartId());
        assertThat(ids).contains(trained.imEndId(), trained.endOfTextId());
        assertThat(tokenizer.tokenId("<|im_end|>")).hasValue(trained.imEndId());
        assertThat(tokenizer.tokenId("<|endoftext|>")).hasValue(trained.endOfTextId());
        assertThat(tokenizer.tokenText(trained.imStartId())).isEqualTo("<|im_start|>");
    }

    @Example
    void encodeAddsNothingAndVocabularyCountsTheSpecialTokens() {
        var trained = SyntheticModels.tokenizer();
        assertThat(tokenizer.encode("a", true)).containsExactly(tokenizer.encode("a", false));
        assertThat(tokenizer.encode("")).isEmpty();
        assertThat(tokenizer.vocabSize()).isEqualTo(trained.vocabSize());
        assertThat(tokenizer.tokenId("Ġthe")).isPresent();
        assertThat(tokenizer.tokenId("no such token")).isEmpty();
    }

    @Example
    void aTokenHoldingPartOfACharacterShowsAReplacementCharacter() {
        // Byte 0xE6 alone is the first of the three bytes of 日; its id is its byte value.
        assertThat(tokenizer.tokenText(0xE6)).isEqualTo("\uFFFD");
        assertThat(tokenizer.decode(new int[] {0xE6, 0x97, 0xA5})).isEqualTo("日");
    }
}
