package dev.realign.safety;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class RefusalTrainingTextsTest {
    private static final List<RefusalTrainingTexts.Example> TRAINING = RefusalTrainingTexts.generate(
            SemanticHeadTrainer.DEFAULT_SEED, SemanticHeadTrainer.DEFAULT_PER_LABEL);

    private static String normalized(String text) {
        return text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", " ").strip();
    }

    @Test
    void noEvaluationTextIsInTheTrainingData() {
        Set<String> training = TRAINING.stream().map(e -> normalized(e.text())).collect(Collectors.toSet());
        List<String> leaked = RefusalEvalSet.load().texts().stream()
                .filter(text -> training.contains(normalized(text)))
                .toList();
        assertThat(leaked).isEmpty();
        // Nor is any evaluation text a whole training text's first sentence copied (a looser form of leaking).
        Set<String> openings = TRAINING.stream().map(e -> normalized(RefusalFeatures.opening(e.text())))
                .filter(s -> s.split(" ").length >= 6).collect(Collectors.toSet());
        List<String> sharedOpenings = RefusalEvalSet.load().texts().stream()
                .filter(text -> openings.contains(normalized(RefusalFeatures.opening(text))))
                .toList();
        assertThat(sharedOpenings).isEmpty();
    }

    @Test
    void theSameSeedGivesTheSameDistinctBalancedTexts() {
        assertThat(RefusalTrainingTexts.generate(SemanticHeadTrainer.DEFAULT_SEED, SemanticHeadTrainer.DEFAULT_PER_LABEL))
                .isEqualTo(TRAINING);
        assertThat(TRAINING).hasSize(2 * SemanticHeadTrainer.DEFAULT_PER_LABEL);
        assertThat(TRAINING.stream().map(RefusalTrainingTexts.Example::text).distinct().count()).isEqualTo(TRAINING.size());
        assertThat(TRAINING.stream().filter(RefusalTrainingTexts.Example::refusal).count())
                .isEqualTo(SemanticHeadTrainer.DEFAULT_PER_LABEL);
        assertThat(RefusalTrainingTexts.generate(1, 50)).isNotEqualTo(RefusalTrainingTexts.generate(2, 50));
    }

    @Test
    void theHardCompliantShapesAreGenerated() {
        List<RefusalTrainingTexts.Example> compliant = TRAINING.stream().filter(e -> !e.refusal()).toList();
        assertThat(compliant).anyMatch(e -> e.text().startsWith("Sorry"));
        assertThat(compliant).anyMatch(e -> e.text().contains("illegal"));
        assertThat(compliant).anyMatch(e -> e.text().contains("unethical"));
        assertThat(compliant).anyMatch(e -> e.text().startsWith("As an"));
        assertThat(TRAINING).anyMatch(e -> e.refusal() && e.kind().equals("partial") && e.text().contains("safety"));
    }

    @Test
    void theOpeningIsTheFirstClause() {
        assertThat(RefusalFeatures.opening("  Sorry for the wait! Here it is.")).isEqualTo("Sorry for the wait!");
        assertThat(RefusalFeatures.opening("Version 1.5 is out: get it.")).isEqualTo("Version 1.5 is out:");
        assertThat(RefusalFeatures.opening("no end")).isEqualTo("no end");
        assertThat(RefusalFeatures.opening("")).isEmpty();
    }
}
