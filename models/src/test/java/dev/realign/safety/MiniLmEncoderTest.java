package dev.realign.safety;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real bundled encoder: shapes, normalization, truncation, and that it embeds meaning at all. */
class MiniLmEncoderTest {
    private static MiniLmEncoder encoder;

    @BeforeAll
    static void load() {
        encoder = MiniLmEncoder.loadBundled(16);
    }

    @AfterAll
    static void close() {
        if (encoder != null) {
            encoder.close();
        }
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
        }
        return dot; // both unit length
    }

    @Test
    void embeddingsAreUnitVectorsInInputOrder() {
        List<String> texts = List.of("a", "The cat sat on the mat.", "a", "Quantum chromodynamics describes quarks.");
        float[][] e = encoder.embed(texts);
        assertThat(e).hasNumberOfRows(4);
        for (float[] row : e) {
            assertThat(row).hasSize(384);
            double norm = 0;
            for (float v : row) {
                norm += v * v;
            }
            assertThat(Math.sqrt(norm)).isCloseTo(1.0, within(1e-5));
        }
        assertThat(e[0]).containsExactly(e[2]); // same text, same batch (equal length): same row
    }

    @Test
    void paraphrasesAreCloserThanUnrelatedSentences() {
        float[][] e = encoder.embed(List.of("I cannot help you with that request.", "I'm unable to assist with this.",
                "Preheat the oven and knead the dough for ten minutes."));
        assertThat(cosine(e[0], e[1])).isGreaterThan(cosine(e[0], e[2]) + 0.2);
    }

    @Test
    void textsAreCutAtMaxTokens() {
        String longText = "word ".repeat(100);
        assertThat(encoder.tokensRead(longText)).isEqualTo(16);
        assertThat(encoder.tokensRead("hi")).isEqualTo(3); // [CLS] hi [SEP]
        // What lies past the cut cannot change the embedding.
        float[][] e = encoder.embed(List.of(longText + " quantum", longText + " bread"));
        assertThat(e[0]).containsExactly(e[1]);
    }

    @Test
    void operationsCountProjectionsAndAttention() {
        // 6 layers x (2 x 64 x 1,769,472 + 4 x 64^2 x 384)
        assertThat(MiniLmEncoder.operations(64)).isEqualTo(6 * (2.0 * 64 * 1_769_472 + 4.0 * 64 * 64 * 384));
        assertThatThrownBy(() -> MiniLmEncoder.loadBundled(2)).hasMessageContaining("maxTokens");
    }
}
