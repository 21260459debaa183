package dev.realign.tokenize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ByteLevelBpeTrainerTest {
    private static final List<String> CORPUS = List.of(
            "the cat sat on the mat", "the cat ate the rat", "the rat sat on the cat", "théâtre über 日本語 日本");

    @TempDir
    Path dir;

    @Test
    void byteAlphabetIsGpt2s() {
        Set<Character> chars = new HashSet<>();
        for (int b = 0; b < 256; b++) {
            chars.add(ByteLevelAlphabet.charOf(b));
            assertThat(ByteLevelAlphabet.byteOf(ByteLevelAlphabet.charOf(b))).isEqualTo(b);
        }
        assertThat(chars).hasSize(256);
        assertThat(ByteLevelAlphabet.charOf(' ')).isEqualTo('Ġ');
        assertThat(ByteLevelAlphabet.charOf('\n')).isEqualTo('Ċ');
        assertThat(ByteLevelAlphabet.charOf('A')).isEqualTo('A');
        assertThat(ByteLevelAlphabet.encode(" é")).isEqualTo("ĠÃ©");
        assertThat(ByteLevelAlphabet.decode("ĠÃ©")).isEqualTo(" é".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void mergesTheMostFrequentPairsFirstAndKeepsAllBytes() {
        TrainedTokenizer trained = ByteLevelBpeTrainer.train(CORPUS, 262);

        assertThat(trained.vocab()).hasSize(262);
        for (int b = 0; b < 256; b++) {
            assertThat(trained.vocab().get(b)).isEqualTo(String.valueOf(ByteLevelAlphabet.charOf(b)));
        }
        // "a t" (cat, sat, mat, rat, ate: 9 times) beats "t h" and "h e" (7 times each).
        assertThat(trained.merges().getFirst()).isEqualTo("a t");
        assertThat(trained.merges()).hasSize(262 - 256);
        assertThat(trained.vocab().subList(256, 262)).allSatisfy(token -> assertThat(token.length()).isGreaterThan(1));
        assertThat(trained.specialTokenId("<|im_end|>")).isEqualTo(264);
        assertThat(trained.vocabSize()).isEqualTo(265);
    }

    @Test
    void trainingIsDeterministicAndStopsWhenPairsRunOut() {
        assertThat(ByteLevelBpeTrainer.train(CORPUS, 300)).isEqualTo(ByteLevelBpeTrainer.train(CORPUS, 300));
        // "ab" once and " ab" twice: "a b" occurs 3 times, then "Ġ ab" twice, then no pair occurs twice.
        TrainedTokenizer exhausted = ByteLevelBpeTrainer.train(List.of("ab ab ab"), 1000);
        assertThat(exhausted.merges()).containsExactly("a b", "Ġ ab");
        assertThatThrownBy(() -> ByteLevelBpeTrainer.train(CORPUS, 100)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void specialTokensInTheCorpusAreNotLearned() {
        TrainedTokenizer trained = ByteLevelBpeTrainer.train(List.of("<|im_start|><|im_start|><|im_start|>"), 300);
        assertThat(trained.merges()).isEmpty();
    }

    @Test
    void writesHuggingFaceFiles() throws Exception {
        TrainedTokenizer trained = ByteLevelBpeTrainer.train(CORPUS, 270);
        trained.writeTo(dir, 128);
        ObjectMapper json = new ObjectMapper();

        JsonNode tokenizer = json.readTree(dir.resolve("tokenizer.json").toFile());
        assertThat(tokenizer.at("/model/type").asText()).isEqualTo("BPE");
        assertThat(tokenizer.at("/model/vocab").size()).isEqualTo(270);
        assertThat(tokenizer.at("/model/merges").size()).isEqualTo(14);
        assertThat(tokenizer.at("/pre_tokenizer/type").asText()).isEqualTo("ByteLevel");
        assertThat(tokenizer.at("/pre_tokenizer/add_prefix_space").asBoolean()).isFalse();
        assertThat(tokenizer.at("/pre_tokenizer/use_regex").asBoolean()).isTrue();
        assertThat(tokenizer.at("/decoder/type").asText()).isEqualTo("ByteLevel");
        assertThat(tokenizer.at("/added_tokens/0/content").asText()).isEqualTo("<|endoftext|>");
        assertThat(tokenizer.at("/added_tokens/0/id").asInt()).isEqualTo(270);
        assertThat(tokenizer.at("/added_tokens/2/id").asInt()).isEqualTo(272);

        JsonNode config = json.readTree(dir.resolve("tokenizer_config.json").toFile());
        assertThat(config.get("bos_token").asText()).isEqualTo("<|endoftext|>");
        assertThat(config.get("eos_token").asText()).isEqualTo("<|endoftext|>");
        assertThat(config.get("chat_template").asText()).isEqualTo(ByteLevelBpeTrainer.CHATML_TEMPLATE);
        assertThat(config.get("model_max_length").asInt()).isEqualTo(128);
        assertThat(config.at("/added_tokens_decoder/271/content").asText()).isEqualTo("<|im_start|>");

        try (Tokenizer loaded = Tokenizer.load(dir)) {
            assertThat(loaded.vocabSize()).isEqualTo(273);
            assertThat(loaded.encode("the cat")).hasSizeLessThan("the cat".length());
            assertThat(loaded.decode(loaded.encode("the cat<|im_end|>"))).isEqualTo("the cat<|im_end|>");
        }
        String first = Files.readString(dir.resolve("tokenizer.json"));
        trained.writeTo(dir, 128);
        assertThat(Files.readString(dir.resolve("tokenizer.json"))).isEqualTo(first);
    }
}
