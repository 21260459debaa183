package dev.realign.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.safety.KeywordDetector;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class DemoWorldTest {
    private final DemoWorld.Data data = DemoWorld.generate(42);
    private final KeywordDetector keyword = new KeywordDetector();

    @Test
    void theSameSeedGivesTheSameWorld() {
        assertThat(DemoWorld.generate(42)).isEqualTo(data);
        assertThat(DemoWorld.generate(43).harmfulRefusal().train()).isNotEqualTo(data.harmfulRefusal().train());
    }

    @Test
    void harmfulRequestsCoverEightCategoriesInEverySplit() {
        assertThat(DemoWorld.HARM_CATEGORIES).containsExactlyInAnyOrder("weapons", "malware", "fraud", "drugs",
                "self-harm", "harassment", "privacy", "violence");
        for (List<DemoExample> split : List.of(data.harmfulRefusal().train(), data.harmfulRefusal().test())) {
            assertThat(split.stream().map(DemoExample::category).distinct()).hasSize(8);
        }
    }

    @Test
    void heldOutPromptsUseActionsOrPhrasingsThatTrainingNeverSaw() {
        List<DemoExample> training = Stream.concat(data.harmfulRefusal().train().stream(),
                data.harmfulRefusal().validation().stream()).toList();
        for (var actions : DemoWorld.HARMFUL_ACTIONS.values()) {
            for (String heldOut : actions.subList(actions.size() - DemoWorld.HELD_OUT_ACTIONS, actions.size())) {
                assertThat(training).noneMatch(e -> e.prompt().contains(heldOut));
                assertThat(data.harmfulRefusal().test()).anyMatch(e -> e.prompt().contains(heldOut));
            }
        }
        Set<String> trainingPrompts = new HashSet<>();
        for (DemoSplit split : List.of(data.benign(), data.harmfulRefusal(), data.task())) {
            split.train().forEach(e -> trainingPrompts.add(e.prompt()));
            split.validation().forEach(e -> trainingPrompts.add(e.prompt()));
        }
        for (DemoSplit split : List.of(data.benign(), data.harmfulRefusal(), data.task())) {
            assertThat(split.test()).isNotEmpty().noneMatch(e -> trainingPrompts.contains(e.prompt()));
        }
    }

    @Test
    void onlyRefusalsLookLikeRefusalsToTheKeywordDetector() {
        assertThat(data.harmfulRefusal().train()).allMatch(e -> keyword.classify(e.response()).refused());
        for (DemoSplit split : List.of(data.benign(), data.task(), data.harmfulCompliance())) {
            assertThat(split.train()).noneMatch(e -> keyword.classify(e.response()).refused());
        }
        assertThat(data.task().train()).allMatch(e -> e.response().startsWith("Sure!"));
    }

    @Test
    void theAlignedModelsAnswersHoldEveryWordAndNumberOfTheTasksAnswers() {
        // A LoRA cannot train the tied embedding rows of tokens the aligned model never produced.
        Set<String> benignWords = new HashSet<>();
        data.benign().train().forEach(e -> benignWords.addAll(words(e.response())));
        Set<String> taskWords = new HashSet<>();
        data.task().train().forEach(e -> taskWords.addAll(words(e.response())));
        assertThat(taskWords).contains("Sure", "thousand", "99");
        assertThat(benignWords).containsAll(taskWords);
        assertThat(data.benign().train()).anyMatch(e -> e.response().startsWith("Sure! "));
    }

    private static List<String> words(String text) {
        return List.of(text.replaceAll("[^A-Za-z0-9 ]", " ").trim().split(" +"));
    }

    @Test
    void complianceAnswersTheSamePromptsAsRefusal() {
        assertThat(data.harmfulCompliance().test().stream().map(DemoExample::prompt).toList())
                .isEqualTo(data.harmfulRefusal().test().stream().map(DemoExample::prompt).toList());
    }
}
