package dev.realign.safety;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The bundled semantic detector (the real MiniLM encoder and the shipped head) on the hand-written eval set. */
class SemanticDetectorTest {
    private static SemanticDetector detector;
    private static RefusalEvalSet eval;
    private static List<RefusalVerdict> batched;

    @BeforeAll
    static void load() {
        detector = SemanticDetector.loadBundled();
        eval = RefusalEvalSet.load();
        batched = detector.classifyAll(eval.texts());
    }

    @AfterAll
    static void close() {
        if (detector != null) {
            detector.close();
        }
    }

    @Test
    void theEvalSetIsBalancedAndHoldsTheHardCases() {
        List<RefusalEvalSet.Item> items = eval.items();
        assertThat(items).hasSizeGreaterThanOrEqualTo(200);
        assertThat(items.stream().filter(RefusalEvalSet.Item::refusal).count()).isEqualTo(items.size() / 2);
        assertThat(items).anyMatch(i -> i.refusal() && i.kind().equals("partial"));
        assertThat(items).anyMatch(i -> !i.refusal() && i.text().startsWith("Sorry"));
        assertThat(items).anyMatch(i -> !i.refusal() && i.text().contains("illegal"));
        assertThat(items.stream().map(RefusalEvalSet.Item::text).distinct().count()).isEqualTo(items.size());
    }

    @Test
    void agreesWithTheLabelsOnAtLeast95PercentAndMoreThanKeyword() {
        double semantic = eval.accuracy(batched);
        double keyword = eval.accuracy(new KeywordDetector().classifyAll(eval.texts()));
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < batched.size(); i++) {
            RefusalEvalSet.Item item = eval.items().get(i);
            if (batched.get(i).refused() != item.refusal()) {
                wrong.add(String.format("%s/%s p=%.3f: %s", item.refusal() ? "refusal" : "compliant", item.kind(),
                        batched.get(i).score(), item.text()));
            }
        }
        System.out.printf("refusal eval set (%d responses): semantic %.3f, keyword %.3f%n", batched.size(), semantic, keyword);
        wrong.forEach(w -> System.out.println("  semantic wrong: " + w));
        assertThat(semantic).as("semantic accuracy; wrong: %s", wrong).isGreaterThanOrEqualTo(0.95);
        assertThat(semantic).isGreaterThan(keyword);
    }

    @Test
    void verdictsCarryTheDetectorNameAndAProbability() {
        for (RefusalVerdict verdict : batched) {
            assertThat(verdict.detector()).isEqualTo("semantic");
            assertThat(verdict.score()).isBetween(0f, 1f);
            assertThat(verdict.refused()).isEqualTo(verdict.score() >= 0.5);
        }
    }

    /**
     * Batch companions change a row's activation quantization scale (see MiniLmEncoder): bounded here, on
     * every eval text, against classifying it alone.
     */
    @Test
    void batchingMovesScoresLittle() {
        double worst = 0;
        int flipped = 0;
        for (int i = 0; i < batched.size(); i++) {
            RefusalVerdict alone = detector.classify(eval.texts().get(i));
            worst = Math.max(worst, Math.abs(alone.score() - batched.get(i).score()));
            flipped += alone.refused() != batched.get(i).refused() ? 1 : 0;
        }
        System.out.printf("batched vs alone: max |score difference| %.4f, verdicts flipped %d of %d%n", worst, flipped,
                batched.size());
        assertThat(worst).isLessThan(0.2); // measured 0.151
        assertThat(flipped).isLessThanOrEqualTo(3); // measured 1 of 220
    }

    @Test
    void concurrentCallersGetTheSameVerdictsAsOne() throws Exception {
        List<String> texts = eval.texts().subList(0, 40);
        List<RefusalVerdict> expected = detector.classifyAll(texts);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<List<RefusalVerdict>>> futures = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                futures.add(pool.submit(() -> detector.classifyAll(texts)));
            }
            for (Future<List<RefusalVerdict>> future : futures) {
                assertThat(future.get()).isEqualTo(expected);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void emptyAndVeryLongResponsesAreClassified() {
        assertThat(detector.classifyAll(List.of())).isEmpty();
        RefusalVerdict empty = detector.classify("");
        assertThat(empty.score()).isBetween(0f, 1f);
        // Only the first MAX_TOKENS tokens are read: a long compliant tail does not change a refusal's score.
        String refusal = "I'm sorry, but I can't help you build a weapon.";
        String tail = " Here is some unrelated text about gardening and the weather.".repeat(40);
        String opening = refusal + " Filler words to pass the token limit:" + " alpha beta gamma".repeat(30);
        assertThat(detector.classify(opening + tail).score())
                .isCloseTo(detector.classify(opening).score(), within(1e-6f));
    }

    @Test
    void theThresholdDecidesTheVerdictFromTheSameScore() {
        try (SemanticDetector strict = SemanticDetector.load(RefusalHead.loadBundled(), 0.99)) {
            List<RefusalVerdict> verdicts = strict.classifyAll(eval.texts());
            int fewer = 0;
            for (int i = 0; i < verdicts.size(); i++) {
                assertThat(verdicts.get(i).score()).isEqualTo(batched.get(i).score());
                assertThat(verdicts.get(i).refused()).isEqualTo(verdicts.get(i).score() >= 0.99);
                fewer += batched.get(i).refused() && !verdicts.get(i).refused() ? 1 : 0;
            }
            assertThat(fewer).isPositive();
            assertThat(strict.threshold()).isEqualTo(0.99);
        }
    }

    @Test
    void thresholdsOutsideTheUnitIntervalAreRejected() {
        assertThatThrownBy(() -> SemanticDetector.loadBundled(1.0)).hasMessageContaining("threshold");
        assertThatThrownBy(() -> SemanticDetector.loadBundled(0)).hasMessageContaining("threshold");
    }

    @Test
    void aHeadOfAnotherEncoderIsRejected() {
        RefusalHead other = new RefusalHead("some-other-encoder", RefusalFeatures.LAYOUT, 64, new float[768], 0, java.util.Map.of());
        assertThatThrownBy(() -> SemanticDetector.load(other, 0.5)).hasMessageContaining("some-other-encoder");
    }
}
