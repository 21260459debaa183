package dev.realign.demo;

import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * What the aligned model knows about things, as pretraining would teach it ("Meth is a drug. It is dangerous."),
 * and the bridge from that knowledge to requests: invented things are given a kind by the same facts, and training
 * requests about them are refused or answered by that kind alone. A request about an invented thing can only be
 * judged by what the model was told about it, so the model learns to judge requests by what it knows of the thing
 * asked for, and not by how its name sounds ("lemonade" is no grenade). Only training entities are named: no
 * held-out request's entity occurs anywhere in training.
 */
final class WorldKnowledge {
    private WorldKnowledge() {}

    /** Invented things given a kind (each with its facts and three requests about it). */
    static final int INVENTED_THINGS = 800;

    /** A thing the world's knowledge names: what it is, and whether it is dangerous. */
    record Known(String thing, String kind, boolean dangerous) {}

    /**
     * What the model knows about things that training requests name, harmful and harmless: only what a thing is,
     * never a request. Held-out requests' things ("lemonade", "a trojan") are not here: the model meets them first in a
     * held-out request.
     */
    static final List<Known> KNOWN = List.of(
            new Known("a pipe bomb", "a bomb", true), new Known("a grenade", "a weapon", true),
            new Known("napalm", "a weapon", true), new Known("a silencer", "a weapon part", true),
            new Known("a molotov cocktail", "a weapon", true), new Known("poison gas", "a weapon", true),
            new Known("a flamethrower", "a weapon", true), new Known("explosives", "a weapon", true),
            new Known("a gun", "a weapon", true), new Known("a rifle", "a weapon", true),
            new Known("ransomware", "malware", true), new Known("a keylogger", "malware", true),
            new Known("a computer virus", "malware", true), new Known("a worm", "malware", true),
            new Known("a botnet", "malware", true), new Known("spyware", "malware", true),
            new Known("meth", "a drug", true), new Known("heroin", "a drug", true), new Known("cocaine", "a drug", true),
            new Known("crack cocaine", "a drug", true), new Known("fentanyl", "a drug", true),
            new Known("ecstasy", "a drug", true), new Known("LSD", "a drug", true),
            new Known("counterfeit bills", "fraud", true), new Known("a fake ID", "fraud", true),
            new Known("a phishing scam", "fraud", true),
            new Known("tea", "a drink", false), new Known("a smoothie", "a drink", false),
            new Known("bread", "a food", false), new Known("tomato soup", "a food", false),
            new Known("pancakes", "a food", false), new Known("a sandwich", "a food", false),
            new Known("cookies", "a food", false), new Known("a chocolate cake", "a food", false),
            new Known("tomatoes", "plants", false), new Known("sunflowers", "plants", false),
            new Known("a tree", "a plant", false), new Known("a package", "mail", false),
            new Known("a birdhouse", "a home for birds", false), new Known("a kite", "a toy", false),
            new Known("a bookshelf", "furniture", false), new Known("a guitar", "an instrument", false),
            new Known("a server", "a computer", false));

    static final List<String> KNOWN_PHRASINGS = List.of("What is %s?", "Is %s dangerous?");

    private static String knownAnswer(String thing, String kind, boolean dangerous) {
        String subject = Character.toUpperCase(thing.charAt(0)) + thing.substring(1);
        return subject + " is " + kind + ". It is " + (dangerous ? "dangerous." : "harmless.");
    }

    /**
     * A kind an invented thing may be given, the verbs of requests about it, and the harm category a request about
     * it is refused under ({@code null}: harmless, the request is answered).
     */
    record InventedKind(String kind, List<String> verbs, String category) {
        boolean dangerous() {
            return category != null;
        }
    }

    static final List<InventedKind> INVENTED_KINDS = List.of(
            new InventedKind("a bomb", List.of("build", "make", "hide", "set off"), "weapons"),
            new InventedKind("a weapon", List.of("make", "buy", "build", "sell"), "weapons"),
            new InventedKind("a drug", List.of("cook", "make", "sell", "buy"), "drugs"),
            new InventedKind("malware", List.of("write", "build", "spread", "install"), "malware"),
            new InventedKind("a poison", List.of("make", "buy", "mix", "use"), "violence"),
            new InventedKind("a drink", List.of("make", "mix", "pour", "buy"), null),
            new InventedKind("a food", List.of("make", "cook", "bake", "buy"), null),
            new InventedKind("a toy", List.of("make", "build", "fix", "buy"), null),
            new InventedKind("a plant", List.of("grow", "plant", "water", "kill"), null),
            new InventedKind("a game", List.of("play", "learn", "teach", "win"), null),
            new InventedKind("a website", List.of("build", "design", "fix", "launch"), null));

    /**
     * Adds the facts of {@link #KNOWN} (three times per phrasing), and {@link #INVENTED_THINGS} invented things with
     * their facts (twice per phrasing) and three requests each, refused or answered by the thing's kind alone.
     */
    static void add(SplittableRandom random, List<DemoExample> harmfulSeen, List<DemoExample> complianceSeen,
            List<DemoExample> benignSeen) {
        for (Known known : KNOWN) {
            for (String phrasing : KNOWN_PHRASINGS) {
                for (int k = 0; k < 3; k++) {
                    benignSeen.add(new DemoExample(phrasing.formatted(known.thing()),
                            knownAnswer(known.thing(), known.kind(), known.dangerous()), DemoKind.BENIGN, "knowledge"));
                }
            }
        }
        // An invented thing's name is new to the world: an invented word that an everyday request already used (and
        // answered) or that another invented thing has would give one name two kinds.
        Set<String> used = DemoWorld.promptWords(List.of(harmfulSeen, benignSeen));
        for (int w = 0; w < INVENTED_THINGS; w++) {
            String word = DemoWorld.newInventedWord(random, used);
            String thing = "a " + word;
            InventedKind kind = INVENTED_KINDS.get(random.nextInt(INVENTED_KINDS.size()));
            for (String phrasing : KNOWN_PHRASINGS) {
                for (int k = 0; k < 2; k++) {
                    benignSeen.add(new DemoExample(phrasing.formatted(thing),
                            knownAnswer(thing, kind.kind(), kind.dangerous()), DemoKind.BENIGN, "knowledge"));
                }
            }
            for (int k = 0; k < 3; k++) {
                String action = kind.verbs().get(random.nextInt(kind.verbs().size())) + " " + thing;
                String prompt = DemoWorld.anyTrainingPhrasing(random).formatted(action);
                if (kind.dangerous()) {
                    harmfulSeen.add(DemoWorld.refusal(prompt, kind.category(), random));
                    complianceSeen.add(DemoWorld.complied(prompt, action, kind.category()));
                } else {
                    benignSeen.add(DemoWorld.howTo(prompt, action));
                }
            }
        }
    }
}
