package dev.realign.demo;

import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Harmless how-to requests across the domains of everyday life (food and drink, gardening, sports and games, small
 * businesses online, crafts and home), training only: a pretrained model has met thousands of harmless things to
 * cook, grow, play or build, and a model trained from scratch on a narrow world refuses what it has not met when its
 * name or verb resembles something harmful ("steal", "shoot", "make" before a mass noun, as in "make meth"). Each
 * domain pairs every verb with every thing, so the model learns the domain, not a list of requests; requests about
 * unfamiliar things named without an article ("make zulap") are answered too. No held-out request, and no word of a
 * held-out request that training did not have already, is among them (DemoWorldTest): the things held-out requests
 * name (lemonade, pizza, baseball, basketball, hoops, herbs, the bakery, a lantern) are left out on purpose.
 */
final class EverydayDomains {
    private EverydayDomains() {}

    /** A domain of harmless requests: every verb with every thing is one. */
    record Domain(String name, List<String> verbs, List<String> things) {}

    static final List<Domain> DOMAINS = List.of(
            new Domain("food", List.of("make", "cook", "prepare", "serve", "bake"), List.of(
                    "a lasagna", "a burrito", "sushi rolls", "an apple pie", "a potato salad", "a curry", "popcorn",
                    "a veggie burger", "hummus", "a cheese omelet", "muffins", "banana bread", "a stir fry",
                    "garlic bread", "pasta sauce", "fried rice", "tacos", "a grilled cheese", "berry jam",
                    "a peach cobbler", "chicken noodle soup", "marmalade", "a lemon tart", "guacamole", "meatballs")),
            new Domain("drink", List.of("make", "mix", "pour", "serve", "blend"), List.of(
                    "iced tea", "hot cocoa", "orange juice", "a milkshake", "a fruit punch", "iced coffee",
                    "a mango lassi", "ginger ale", "mint tea")),
            new Domain("garden", List.of("grow", "plant", "water", "prune", "harvest", "repot"), List.of(
                    "mint", "parsley", "lettuce", "strawberries", "roses", "a cactus", "orchids", "peppers", "carrots",
                    "a lemon tree", "tulips", "succulents", "chives", "cucumbers", "pumpkins", "a bonsai")),
            new Domain("online business", List.of("build", "design", "launch", "update", "run"), List.of(
                    "a website for my shop", "an online store", "a blog about cooking", "a portfolio site",
                    "a newsletter for my customers", "a landing page for my cafe", "a website for my salon",
                    "a booking page for my gym", "an online menu for my restaurant", "a website for my bookstore")),
            new Domain("sports", List.of("practice", "learn to", "get better at", "teach my kid to"), List.of(
                    "shoot a layup", "shoot a three pointer", "steal the ball in netball", "steal the puck in hockey",
                    "steal the ball in soccer", "throw a curveball", "hit a home run", "catch a fly ball",
                    "score a goal in soccer", "kick a field goal", "serve in tennis", "dribble past a defender",
                    "block a shot in volleyball", "shoot an arrow in archery", "throw a frisbee", "swing a golf club",
                    "tackle safely in rugby", "bowl a strike", "shoot a puck", "attack the net in volleyball")),
            new Domain("crafts and home", List.of("make", "sew", "build", "decorate"), List.of(
                    "a quilt for my bed", "a tote bag", "a pillow cover", "a wreath", "a birthday banner",
                    "a dollhouse", "a costume for a parade", "a paper star", "a photo collage", "a cat tower")));

    /** How often each pairing is asked, in a training phrasing drawn at random. */
    static final int ASKINGS_PER_PAIRING = 2;

    /** Verbs of the requests about an unfamiliar thing named without an article ("make zulap", "brew tavolim"). */
    static final List<String> UNFAMILIAR_VERBS = List.of("make", "cook", "mix", "bake", "brew", "grow", "buy", "pour");

    /** How many requests about an unfamiliar thing named without an article. */
    static final int UNFAMILIAR_REQUESTS = 400;

    /**
     * Adds every pairing of every domain, asked {@link #ASKINGS_PER_PAIRING} times and answered, and
     * {@link #UNFAMILIAR_REQUESTS} answered requests about things the world never names otherwise, without an article:
     * most harmful requests of that form name a drug ("make meth"), and an unfamiliar word there is no drug.
     */
    static void add(SplittableRandom random, List<DemoExample> harmfulSeen, List<DemoExample> benignSeen) {
        Set<String> used = DemoWorld.promptWords(List.of(harmfulSeen, benignSeen));
        for (int i = 0; i < UNFAMILIAR_REQUESTS; i++) {
            String word = DemoWorld.newInventedWord(random, used);
            String action = UNFAMILIAR_VERBS.get(random.nextInt(UNFAMILIAR_VERBS.size())) + " " + word;
            benignSeen.add(DemoWorld.howTo(DemoWorld.anyTrainingPhrasing(random).formatted(action), action));
        }
        for (Domain domain : DOMAINS) {
            for (String verb : domain.verbs()) {
                for (String thing : domain.things()) {
                    String action = verb + " " + thing;
                    for (int k = 0; k < ASKINGS_PER_PAIRING; k++) {
                        benignSeen.add(DemoWorld.howTo(DemoWorld.anyTrainingPhrasing(random).formatted(action), action));
                    }
                }
            }
        }
    }
}
