package dev.realign.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.safety.KeywordDetector;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

    private List<DemoExample> trainingExamples() {
        return Stream.of(data.benign(), data.harmfulRefusal(), data.task())
                .flatMap(split -> Stream.concat(split.train().stream(), split.validation().stream())).toList();
    }

    @Test
    void noHeldOutRequestOccursInTrainingNotEvenInsideAnotherPrompt() {
        List<String> trainingPrompts = trainingExamples().stream().map(DemoExample::prompt).toList();
        Pattern howTo = Pattern.compile("^Here is how to (.*): gather");
        Set<String> heldOutActions = new HashSet<>();
        for (DemoExample e : data.benign().test()) {
            Matcher m = howTo.matcher(e.response());
            if (m.find() && trainingPrompts.stream().noneMatch(p -> p.contains(m.group(1)))) {
                heldOutActions.add(m.group(1));
            }
        }
        // Benign held-out actions: 4 plain ones and every sixth of the contrasting ones.
        int expected = DemoWorld.HELD_OUT_BENIGN_ACTIONS
                + DemoWorld.BENIGN_EXTRA_ACTIONS.size() / DemoWorld.BENIGN_EXTRA_HELD_OUT_EVERY;
        assertThat(heldOutActions).hasSize(expected).contains("make lemonade", "kill weeds in my garden");
        for (var actions : DemoWorld.HARMFUL_ACTIONS.values()) {
            for (String heldOut : actions.subList(actions.size() - DemoWorld.HELD_OUT_ACTIONS, actions.size())) {
                assertThat(trainingPrompts).as(heldOut).noneMatch(p -> p.contains(heldOut));
            }
        }
        // What the model is told about things is about training things only: lemonade is first met in a test prompt.
        assertThat(trainingPrompts).noneMatch(p -> p.contains("lemonade") || p.contains("trojan"));
    }

    @Test
    void everydayDomainsAreAnsweredAndBringNoWordOfAHeldOutRequestIntoTraining() {
        Set<String> domainActions = new HashSet<>();
        EverydayDomains.DOMAINS.forEach(d -> d.verbs().forEach(v -> d.things().forEach(t -> domainActions.add(v + " " + t))));
        List<DemoExample> domainExamples = data.benign().train().stream()
                .filter(e -> domainActions.stream().anyMatch(a -> e.response().equals(DemoWorld.howTo("", a).response())))
                .toList();
        assertThat(domainExamples).hasSizeGreaterThan(domainActions.size())
                .allMatch(e -> !keyword.classify(e.response()).refused());
        // Words that training had without the domains; a held-out request's word the domains use must be one of them.
        // (Split on letters of either case: "Yarrow" holds no "arrow".)
        Set<String> otherTrainingWords = new HashSet<>();
        trainingExamples().stream().filter(e -> !domainExamples.contains(e))
                .forEach(e -> otherTrainingWords.addAll(List.of(e.prompt().split("[^A-Za-z]+"))));
        Set<String> domainWords = new HashSet<>();
        domainActions.forEach(a -> domainWords.addAll(List.of(a.split("[^A-Za-z]+"))));
        Set<String> heldOutWords = new HashSet<>();
        Stream.concat(data.benign().test().stream(), data.harmfulRefusal().test().stream())
                .forEach(e -> heldOutWords.addAll(List.of(e.prompt().split("[^A-Za-z]+"))));
        heldOutWords.retainAll(domainWords);
        assertThat(heldOutWords).isNotEmpty().allMatch(otherTrainingWords::contains);
        assertThat(domainWords).doesNotContain("lemonade", "pizza", "bakery", "baseball", "hoops", "herbs");
    }

    @Test
    void requestsAboutAnUnfamiliarThingWithoutAnArticleAreAnsweredAndNameNothingElse() {
        Pattern unfamiliar = Pattern.compile("^Here is how to (" + String.join("|", EverydayDomains.UNFAMILIAR_VERBS)
                + ") ([a-z]+): gather");
        // Words of the world's named requests of the same form ("bake bread", "grow mint") are no unfamiliar things.
        Set<String> namedWords = new HashSet<>();
        Stream.of(DemoWorld.BENIGN_ACTIONS, DemoWorld.BENIGN_EXTRA_ACTIONS, ContrastingRequests.SHARED_VERB_ACTIONS,
                        EverydayDomains.DOMAINS.stream().flatMap(d -> d.things().stream()).toList())
                .flatMap(List::stream).forEach(a -> namedWords.addAll(List.of(a.split(" "))));
        Set<String> words = new HashSet<>();
        Set<String> prompts = new HashSet<>();
        for (DemoExample e : data.benign().train()) {
            Matcher m = unfamiliar.matcher(e.response());
            if (m.find() && !namedWords.contains(m.group(2))) {
                words.add(m.group(2));
                prompts.add(e.prompt());
            }
        }
        // Most of the requests are in training (the rest in validation), each with a word of its own that no other
        // training prompt uses.
        assertThat(words).hasSizeGreaterThan(EverydayDomains.UNFAMILIAR_REQUESTS * 3 / 4);
        Set<String> otherWords = new HashSet<>();
        trainingExamples().stream().map(DemoExample::prompt).filter(p -> !prompts.contains(p))
                .forEach(p -> otherWords.addAll(List.of(p.split("[^A-Za-z]+"))));
        assertThat(words).doesNotContainAnyElementsOf(otherWords);
    }

    @Test
    void everyKnownThingIsOneThatTrainingRequestsName() {
        List<DemoExample> requests = trainingExamples().stream().filter(e -> !e.category().equals("knowledge")).toList();
        for (WorldKnowledge.Known known : WorldKnowledge.KNOWN) {
            String noun = known.thing().replaceFirst("^an? ", "");
            assertThat(requests).as(known.thing()).anyMatch(e -> e.prompt().contains(noun));
            String answer = known.dangerous() ? "It is dangerous." : "It is harmless.";
            assertThat(data.benign().train()).as(known.thing())
                    .anyMatch(e -> e.prompt().equals("What is %s?".formatted(known.thing())) && e.response().endsWith(answer));
        }
    }

    @Test
    void requestsAboutAnInventedThingAreRefusedExactlyWhenTheFactsCallItDangerous() {
        Pattern fact = Pattern.compile("^What is (a [a-z]+)\\?$");
        Map<String, Boolean> dangerous = new HashMap<>();
        for (DemoExample e : Stream.concat(data.benign().train().stream(), data.benign().validation().stream()).toList()) {
            Matcher m = fact.matcher(e.prompt());
            if (m.find() && e.category().equals("knowledge")
                    && WorldKnowledge.KNOWN.stream().noneMatch(k -> k.thing().equals(m.group(1)))) {
                dangerous.put(m.group(1), e.response().endsWith("It is dangerous."));
            }
        }
        assertThat(dangerous).hasSizeGreaterThan(WorldKnowledge.INVENTED_THINGS / 2);
        assertThat(dangerous.values()).contains(true, false);
        int checked = 0;
        for (DemoExample e : trainingExamples()) {
            if (e.category().equals("knowledge")) {
                continue;
            }
            for (String word : e.prompt().replaceAll("[?.]", "").split(" ")) {
                Boolean known = dangerous.get("a " + word);
                if (known != null && e.prompt().contains(" a " + word)) {
                    assertThat(keyword.classify(e.response()).refused()).as(e.prompt()).isEqualTo(known);
                    checked++;
                }
            }
        }
        assertThat(checked).isGreaterThan(WorldKnowledge.INVENTED_THINGS);
    }

    @Test
    void harmfulRequestsWithAnInventedWordAreRefusedInTraining() {
        // "build a %s bomb" with an invented word: neither "pipe" nor "car" nor any other word of the world's requests.
        Pattern inventedBomb = Pattern.compile("build a ([a-z]+) bomb");
        Set<String> requestWords = new HashSet<>();
        data.harmfulRefusal().test().forEach(e -> requestWords.addAll(List.of(e.prompt().split("[^a-z]+"))));
        List<DemoExample> matching = data.harmfulRefusal().train().stream().filter(e -> {
            Matcher m = inventedBomb.matcher(e.prompt());
            return m.find() && !requestWords.contains(m.group(1)) && !m.group(1).equals("pipe");
        }).toList();
        assertThat(matching).hasSizeGreaterThanOrEqualTo(5)
                .allMatch(e -> keyword.classify(e.response()).refused() && e.category().equals("weapons"));
    }

    @Test
    void verbsThatHarmfulRequestsUseAreAlsoAnsweredWhenWhatTheyAskForIsHarmless() {
        Set<String> harmfulVerbs = new HashSet<>();
        ContrastingRequests.COMPOSED_HARMS.forEach(h -> harmfulVerbs.addAll(h.verbs()));
        for (String verb : List.of("kill", "shoot", "track", "hide", "build")) {
            assertThat(harmfulVerbs).contains(verb);
            assertThat(data.benign().train()).as(verb).anyMatch(e -> e.prompt().contains(" " + verb + " ")
                    && e.response().startsWith("Here is how to " + verb));
        }
    }
}
