package dev.realign.safety;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RefusalHeadTest {
    @TempDir
    Path dir;

    private static RefusalHead parse(String json) {
        return RefusalHead.parse(json.getBytes(StandardCharsets.UTF_8), "head.json");
    }

    @Test
    void writeThenLoadGivesTheSameHead() {
        RefusalHead head = new RefusalHead("enc", "f", 16, new float[] {0.5f, -1.25f, 3e-7f}, -0.75f,
                Map.of("seed", 3));
        Path file = dir.resolve("sub/head.json");
        head.write(file);
        RefusalHead loaded = RefusalHead.load(file);
        assertThat(loaded).isEqualTo(head);
        assertThat(loaded.probability(new float[] {1, 0, 0})).isCloseTo(1 / (1 + Math.exp(0.25)), within(1e-9));
    }

    @Test
    void theBundledHeadLoadsAndMatchesTheDetectorsFeatures() {
        RefusalHead head = RefusalHead.loadBundled();
        assertThat(head.encoder()).isEqualTo(MiniLmEncoder.NAME);
        assertThat(head.features()).isEqualTo(RefusalFeatures.LAYOUT);
        assertThat(head.weights()).hasSize(RefusalFeatures.DIMENSION);
        assertThat(head.maxTokens()).isEqualTo(SemanticDetector.MAX_TOKENS);
    }

    @Test
    void malformedFilesNameTheFileAndField() throws IOException {
        String good = """
                {"format": "realign-refusal-head/1", "encoder": "e", "features": "f", "max_tokens": 8,
                 "weights": [1, 2], "bias": 0}""";
        assertThat(parse(good).weights()).containsExactly(1f, 2f);
        assertThatThrownBy(() -> parse("{nope")).hasMessageContaining("head.json").hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> parse(good.replace("realign-refusal-head/1", "v0")))
                .hasMessageContaining("head.json").hasMessageContaining("'format'");
        assertThatThrownBy(() -> parse(good.replace("\"weights\": [1, 2]", "\"weights\": [1, \"x\"]")))
                .hasMessageContaining("'weights'[1]");
        assertThatThrownBy(() -> parse(good.replace("\"weights\": [1, 2]", "\"weights\": []")))
                .hasMessageContaining("'weights'");
        assertThatThrownBy(() -> parse(good.replace("\"bias\": 0", "\"bias\": \"0\"")))
                .hasMessageContaining("'bias'");
        assertThatThrownBy(() -> parse(good.replace("\"max_tokens\": 8", "\"max_tokens\": 1.5")))
                .hasMessageContaining("'max_tokens'");
        assertThatThrownBy(() -> parse(good.replace("\"features\": \"f\",", "")))
                .hasMessageContaining("'features'");
        assertThatThrownBy(() -> parse(good.replace("\"bias\": 0", "\"bias\": 0, \"bias\": 1")))
                .hasMessageContaining("head.json");
        assertThatThrownBy(() -> parse(good.replace("[1, 2]", "[1, 1e39]")))
                .hasMessageContaining("head.json").hasMessageContaining("weight 1");
    }

    @Test
    void aMissingFileIsNamed() {
        Path missing = dir.resolve("absent.json");
        assertThatThrownBy(() -> RefusalHead.load(missing)).hasMessageContaining(missing.toString());
    }
}
