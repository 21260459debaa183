package dev.realign.safety;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The training texts of the semantic refusal head: responses composed from parts we wrote, by seed.
 *
 * <p>Refusals come in many styles (blunt, polite, partial with an offer of something safer, redirecting,
 * "As an AI...", citing policy, moralizing) over many requests, harmful ones and a few harmless ones that an
 * over-cautious model refuses. Compliant answers cover everyday tasks, and on purpose also the shapes that a
 * keyword check mistakes for refusals: answers that open with an apology ("Sorry for the wait, here is..."),
 * that explain a law or call something illegal or unethical while answering, that start "As an ...", that
 * hedge ("I can't be sure, but...") and that give safety information on a dangerous topic. Both labels share
 * topics, so the head must learn the stance of a response rather than its subject.
 *
 * <p>Nothing here is copied from the evaluation set ({@code refusal-eval.jsonl} in the tests), which was
 * written separately; a test checks that no evaluation text is generated.
 */
public final class RefusalTrainingTexts {
    /** One labeled training text; {@code kind} names the style it was built from. */
    public record Example(String text, boolean refusal, String kind) {}

    /** A request a model might refuse, as a gerund ("writing ransomware") and an infinitive ("write ransomware"). */
    private record Request(String gerund, String infinitive, String alternative) {}

    private static final List<Request> REQUESTS = List.of(
            new Request("writing ransomware", "write ransomware", "explain how organizations defend against ransomware"),
            new Request("building a bomb", "build a bomb", "talk about how bomb squads keep people safe"),
            new Request("making an untraceable gun", "make an untraceable gun", "share how firearm registration works"),
            new Request("synthesizing fentanyl", "synthesize fentanyl", "give information about addiction treatment"),
            new Request("cooking meth", "cook meth", "point you to resources about substance use"),
            new Request("hacking into your ex's social media", "hack into your ex's social media",
                    "explain how to secure your own accounts"),
            new Request("stalking someone", "track down where someone lives", "suggest how to get a protective order"),
            new Request("writing a phishing email", "write a phishing email", "show you how to spot phishing"),
            new Request("stealing a car", "steal a car", "explain how anti-theft systems work"),
            new Request("forging documents", "forge these documents", "explain how to get official copies"),
            new Request("creating a fake passport", "create a fake passport", "walk you through a passport application"),
            new Request("poisoning someone", "poison someone", "share what to do in a poisoning emergency"),
            new Request("hurting another person", "help you hurt another person", "talk about ways to defuse conflict"),
            new Request("self-harm methods", "describe self-harm methods", "share crisis line numbers"),
            new Request("evading the police", "help you evade the police", "explain your rights during a traffic stop"),
            new Request("laundering money", "launder money", "explain how anti-money-laundering rules work"),
            new Request("cheating on an exam", "help you cheat on the exam", "make a study schedule with you"),
            new Request("writing hate speech", "write hateful content about that group", "discuss the history of civil rights"),
            new Request("spreading disinformation", "write fake news articles", "explain how fact-checkers work"),
            new Request("doxxing a person", "find that person's home address", "explain how to protect your own privacy"),
            new Request("building a botnet", "build a botnet", "explain how to secure IoT devices"),
            new Request("bypassing a software license", "crack that software", "suggest free open-source alternatives"),
            new Request("scamming elderly people", "write a script to scam elderly people", "list common scams to warn relatives about"),
            new Request("making a chemical weapon", "make a chemical weapon", "describe the Chemical Weapons Convention"),
            new Request("buying drugs online", "find a dark web drug market", "share harm-reduction resources"),
            new Request("harassing a coworker", "write messages to harass your coworker", "help you raise a workplace issue with HR"),
            new Request("spying on your partner's phone", "install spyware on your partner's phone", "suggest ways to talk about trust"),
            new Request("shoplifting", "teach you how to shoplift", "help you find local assistance programs"),
            new Request("writing a keylogger", "write a keylogger", "explain how antivirus software detects them"),
            new Request("faking a medical certificate", "fake a medical certificate", "explain how sick leave usually works"),
            new Request("writing an exploit for that server", "write an exploit for that server",
                    "describe how responsible disclosure works"),
            new Request("picking a lock that isn't yours", "open a lock that isn't yours", "suggest calling a licensed locksmith"),
            new Request("making explicit content of a real person", "make explicit images of a real person",
                    "discuss consent and image rights"),
            new Request("starting a fire in a building", "explain how to set a building on fire", "share fire safety tips"),
            new Request("smuggling goods through customs", "smuggle goods through customs", "explain customs allowances"),
            new Request("writing your whole thesis for you", "write your entire thesis for you", "help you outline your chapters"),
            new Request("giving a medical diagnosis", "diagnose your condition", "describe when to see a doctor"),
            new Request("predicting lottery numbers", "predict the winning lottery numbers", "explain the odds of the lottery"),
            new Request("impersonating a police officer", "write a message impersonating a police officer",
                    "explain how to verify an officer's identity"),
            new Request("manipulating someone emotionally", "help you manipulate your friend", "suggest honest ways to ask for what you need"),
            new Request("posting fake product reviews", "write fake five-star reviews", "help you ask real customers for reviews"),
            new Request("mocking someone's appearance", "write jokes mocking your colleague's looks", "write some friendly jokes instead"),
            new Request("reading someone else's private messages", "get into your sister's private messages",
                    "suggest how to talk with her directly"),
            new Request("getting revenge on your former boss", "plan revenge on your former boss",
                    "help you write a factual complaint"),
            new Request("ruining a rival's reputation", "write rumors to ruin your rival's reputation",
                    "help you compete on the merits"),
            new Request("skipping payment on a ride", "show you how to avoid paying the fare", "look up discount fare programs"),
            new Request("copying a classmate's homework", "help you copy your classmate's homework", "explain the problem step by step"),
            new Request("making a dangerous prank", "design a prank that could injure someone", "suggest harmless pranks"));

    private static final List<String> BLUNT = List.of(
            "I won't {v}.", "I can't {v}.", "No, I'm not going to {v}.", "I will not assist with {g}.",
            "I don't help with {g}.", "{G}? No.", "That's a hard no: I won't {v}.", "I refuse to {v}.",
            "I cannot {v}.", "Not going to happen. I don't assist with {g}.", "I'm not helping with {g}.",
            "I can't assist with {g}.", "I won't be {g} for you.", "That's not something I'm willing to do.",
            "I'm going to say no to {g}.", "Don't count on me for {g}.", "{G} is off the table.",
            "I won't take part in {g}.");
    private static final List<String> POLITE = List.of(
            "I'm sorry, but I can't {v}.", "I apologize, but I'm unable to help with {g}.",
            "Unfortunately, I can't assist with {g}.", "I'm afraid {g} is not something I can help with.",
            "Thanks for asking, but I have to decline {g}.", "I'm really sorry, but I won't {v}.",
            "My apologies, but I can't help you {v}.", "I understand why you're asking, but I can't {v}.",
            "Sorry, I'm not able to help with {g}.", "I appreciate the question, but I'm not able to {v}.",
            "I'd like to help, but {g} is something I have to say no to.",
            "Please understand that I cannot {v}.", "I'd prefer not to {v}.", "I'd rather not {v}, if that's okay.",
            "I'm not comfortable {g}, sorry.", "I'll have to pass on {g}.", "Forgive me, but I'm not willing to {v}.",
            "Respectfully, {g} isn't something I'll do.");
    private static final List<String> PARTIAL_TAILS = List.of(
            " However, I can {a} if that would be useful.", " What I can do is {a}.",
            " If it helps, I could {a} instead.", " I'd be glad to {a}, though.",
            " But I'm happy to {a}.", " Instead, let me {a}.", " Though I could {a}.", " I can {a}, though.",
            " Maybe I could {a} instead?");
    /**
     * What a partial refusal gives instead: a pointer to someone who can help, or general safety information
     * (the second sentence of "I can't help with X, but here is general safety info").
     */
    private static final List<String> REFERRALS = List.of(
            " A lawyer who handles these cases can tell you what your options are.",
            " If you're in danger right now, please call your local emergency number.",
            " A doctor or pharmacist can answer questions about your medication safely.",
            " Your bank's fraud department can help if money is involved.",
            " A licensed professional in your area can do this legally and safely.",
            " If you're feeling overwhelmed, a counselor or a crisis line is a good place to start.",
            " The official website of your local government explains the legal process step by step.",
            " If this is about your own account or device, the vendor's support team can verify you and restore access.");
    private static final List<String> REDIRECT = List.of(
            "Let's not {v}. Could we talk about something else?", "I'd rather not go there. Is there another way I can help you today?",
            "Instead of {g}, how about we work on something constructive?",
            "I'm going to pass on {g}. Let me know if there's anything else you need.",
            "How about a different topic? I won't {v}.", "Let's change the subject; {g} isn't something I'll take part in.",
            "I'd suggest speaking with a professional about this rather than {g} with me.");
    private static final List<String> AS_AI = List.of(
            "As an AI assistant, I can't {v}.", "As a responsible AI, I must decline {g}.",
            "I'm an AI and my guidelines prevent me from {g}.", "As a language model, I am not able to {v}.",
            "As an AI developed to be safe, I won't {v}.", "Being an AI, I'm not allowed to {v}.",
            "My programming doesn't allow me to {v}.", "I'm just an AI, and I can't {v}.");
    private static final List<String> POLICY = List.of(
            "{G} could cause real harm, so I won't help.", "That request asks me to {v}, which goes against my guidelines.",
            "I'm not permitted to help with {g}.", "{G} violates the policies I follow, so I have to decline.",
            "This falls outside what I can do: {g} is prohibited.", "Requests involving {g} are something I decline.",
            "Helping you {v} would be against the rules I operate under.");
    private static final List<String> MORAL = List.of(
            "{G} would hurt people, and I'm not willing to be part of that.",
            "It wouldn't be right for me to {v}.", "I don't feel comfortable {g}; it could do real damage.",
            "{G} is harmful and unethical, so I won't do it.", "I believe {g} is wrong, so I'll have to say no.",
            "That would put others in danger. I won't {v}.",
            "{G} is unfair to the people it targets. I won't help with it.",
            "{G} is dangerous and could get someone hurt, so I'll stay out of it.",
            "{G} can do lasting harm. I'm not going to help.");
    private static final List<String> REFUSAL_ENDINGS = List.of(
            "", "", "", " Is there anything else I can help with?", " I hope you understand.",
            " If you're going through something difficult, please reach out to someone you trust.",
            " Thanks for understanding.", " Let me know if you have another question.");

    /** A harmless task with the answer a compliant model gives, plain and without an opener. */
    private record Task(String answer) {}

    private static final List<Task> TASKS = List.of(
            new Task("a basic vinaigrette is three parts olive oil to one part vinegar, with a pinch of salt and a spoon of mustard."),
            new Task("to list files in a folder on Linux, run ls -la in your terminal."),
            new Task("the boiling point of water at sea level is 100 degrees Celsius."),
            new Task("here is a short poem about the sea: The waves keep time against the stone, the gulls call out, the tide goes home."),
            new Task("the main causes of World War I were militarism, alliances, imperialism, and nationalism."),
            new Task("to center a div in CSS, set display: flex on the parent with justify-content and align-items set to center."),
            new Task("here is a weekly meal plan: oatmeal breakfasts, grain bowls for lunch, and a different soup each night."),
            new Task("a Roth IRA is funded with after-tax money, so qualified withdrawals in retirement are tax free."),
            new Task("the speed of light in a vacuum is about 299,792 kilometers per second."),
            new Task("to make cold brew, steep coarse coffee grounds in cold water for 12 to 18 hours, then strain."),
            new Task("here's a draft of your thank-you note: Dear Maria, thank you so much for the lovely gift and for coming to the party."),
            new Task("binary search runs in logarithmic time because it halves the search range at every step."),
            new Task("the tallest mountain on Earth above sea level is Mount Everest at 8,849 meters."),
            new Task("to remove a red wine stain, blot it, cover it with salt, then rinse with cold water."),
            new Task("a good interview answer follows the STAR method: situation, task, action, result."),
            new Task("here are three icebreakers for your team meeting: two truths and a lie, a favorite snack, and a photo from your weekend."),
            new Task("to plant tomatoes, choose a sunny spot, bury the stem deep, and water at the base every few days."),
            new Task("the Great Depression began with the stock market crash of October 1929."),
            new Task("in Java, a record is a compact class for immutable data whose fields are declared in its header."),
            new Task("to improve your sleep, keep a regular schedule, avoid screens before bed, and keep the room cool."),
            new Task("here's a birthday message for your sister: Happy birthday to the person who always makes me laugh!"),
            new Task("a credit score is based on payment history, amounts owed, length of credit history, new credit, and credit mix."),
            new Task("to convert kilometers to miles, multiply by 0.621."),
            new Task("the three branches of the U.S. government are the legislative, executive, and judicial."),
            new Task("to knit a scarf, cast on 30 stitches and work in garter stitch until it is as long as you like."),
            new Task("a regular expression that matches an email address roughly is [^@ ]+@[^@ ]+\\.[a-z]+."),
            new Task("here is a summary of the chapter: the heroine leaves her village, meets a guide, and crosses the mountains."),
            new Task("to train a puppy to sit, hold a treat above its nose and move it back until it sits, then reward it."),
            new Task("the water cycle consists of evaporation, condensation, precipitation, and collection."),
            new Task("here are some budgeting tips: track every expense for a month, set limits per category, and automate savings."),
            new Task("a hash map gives average constant-time lookups by storing entries in buckets chosen by the key's hash."),
            new Task("after a death in the family, the first tasks are usually telling relatives, choosing a funeral home, and finding the will."),
            new Task("a thread pool reuses a fixed set of threads, so tasks don't pay the cost of creating a thread each time."),
            new Task("the difference between weather and climate is time: weather is today, climate is the average over decades."),
            new Task("don't wash cast iron in the dishwasher; rinse it with hot water, dry it, and rub in a little oil."),
            new Task("you shouldn't run a marathon without training; most plans build up over sixteen to twenty weeks."),
            new Task("never leave a pet in a parked car on a warm day, because the inside heats up within minutes."),
            new Task("here is the corrected sentence: Their house is bigger than ours, but ours has a garden."),
            new Task("to split a bill evenly, divide the total including tip by the number of people."),
            new Task("an index speeds up database reads on a column but slows down writes slightly."),
            new Task("a haircut appointment usually takes about thirty minutes, so book an hour if you also want a color."),
            new Task("here's an outline for your talk: a story to open, three main points, and a call to action."),
            new Task("most houseplants need bright indirect light and water only when the top inch of soil is dry."),
            new Task("the Treaty of Westphalia in 1648 ended the Thirty Years' War."),
            new Task("to avoid burnout, schedule real breaks, say no to extra projects when full, and protect your sleep."),
            new Task("here's a toast for the wedding: To the couple, may your adventures be long and your arguments short."),
            new Task("garbage collection in the JVM frees objects that are no longer reachable from any live reference."),
            new Task("a 529 plan lets you save for education, and its growth is tax free when spent on qualified expenses."),
            new Task("to write a strong thesis statement, make a specific claim that someone could reasonably disagree with."),
            new Task("children under two shouldn't have honey, because it can carry the bacteria that cause infant botulism."),
            new Task("the plot of Hamlet follows a prince who seeks to avenge his father's murder by his uncle."),
            new Task("you can't divide by zero in ordinary arithmetic, because no number times zero gives a nonzero result."),
            new Task("here's a script for calling your landlord about the heater: say when it broke, what you've tried, and when you're home."),
            new Task("to negotiate a raise, gather data on market pay, list your results, and ask for a specific number."));

    /** Law and ethics explanations: compliant answers that say "illegal", "unethical" or "not legal". */
    private static final List<String> LAW_ANSWERS = List.of(
            "Driving without insurance is illegal in most states, and penalties include fines and a suspended license.",
            "Tax evasion is illegal, while tax avoidance, using legal deductions and credits, is allowed.",
            "Copying a movie to share it online is illegal copyright infringement in most countries.",
            "Bribing a public official is illegal under anti-corruption laws like the Foreign Corrupt Practices Act.",
            "In many countries it is not legal to fly a drone near an airport without authorization.",
            "Discriminating against a job applicant because of religion is illegal under Title VII of the Civil Rights Act.",
            "Squatting rules differ by state; occupying a home without permission is generally illegal trespassing.",
            "Selling a car with a rolled-back odometer is illegal odometer fraud under federal law.",
            "Experiments on people without their consent are considered unethical, which is why review boards exist.",
            "Many economists call price gouging unethical during disasters, and some states have made it illegal.",
            "Lying on a resume is unethical and can be grounds for firing, though it is rarely a crime.",
            "Hunting out of season is illegal and can lead to fines and loss of your hunting license.",
            "Keeping a lost wallet is illegal in many places; turning it in to the police is the right move.",
            "Fishing without a license is illegal in most states, and licenses are cheap to buy online.",
            "In the story, the smugglers run an illegal ferry across the river until the sheriff catches on.",
            "Under most privacy laws it is illegal to sell customer data without telling customers and offering an opt-out.",
            "Sharing a paid streaming password outside your household breaks the terms of service, though it is rarely prosecuted as illegal.",
            "Employers can't legally ask your age in most interviews; age discrimination is illegal for workers over 40 in the U.S.",
            "Hacking a computer without permission is illegal under the Computer Fraud and Abuse Act, which is why security researchers get written authorization.",
            "Some ethicists argue that breaking an unjust law can be ethical, while following an unethical order is no excuse.",
            "Here's a summary of the Enron scandal: executives hid debt in illegal off-book entities, and the company collapsed in 2001.",
            "Cheating on taxes is illegal, but you can reduce what you owe by contributing to a retirement account.",
            "A non-compete clause may not be legal in your state; California, for example, voids most of them.",
            "Using a fake name on social media is not illegal in itself, but using it to defraud people is.",
            "Whistleblower laws protect employees who report illegal or unethical conduct at work from retaliation.");

    /** Safety information on dangerous topics: compliant, though the subject sounds alarming. */
    private static final List<String> SAFETY_ANSWERS = List.of(
            "Carbon monoxide is odorless, so install detectors near bedrooms and test them every month.",
            "If you smell gas, leave the house immediately and call the gas company from outside.",
            "Common signs of a stroke are facial drooping, arm weakness, and slurred speech; call emergency services fast.",
            "To spot a fake online store, check for a real address, secure payment, and reviews on independent sites.",
            "Malware often spreads through email attachments, so keep your system updated and don't open unexpected files.",
            "If you find a gun at home that you don't know how to handle, don't touch it and ask a trained person to secure it.",
            "Two-factor authentication stops most account takeovers, so turn it on for email and banking.",
            "Never mix cleaning products that contain chlorine with acids; the gas they release can injure your lungs.",
            "A tourniquet should only be used for life-threatening limb bleeding; apply it above the wound and note the time.",
            "Hackers use password spraying, trying common passwords on many accounts, so use a long unique passphrase.",
            "Your bank will never ask for your full PIN by phone; hang up and call the number on the back of your card.",
            "Warning signs that a child is being groomed online include secrecy about a new friend and unexplained gifts.",
            "If someone has taken too many sleeping pills, call emergency services and keep them awake and on their side.",
            "Fentanyl test strips can detect fentanyl in other drugs, and many health departments hand them out for free.",
            "To protect yourself from identity theft, freeze your credit with all three bureaus and check your reports yearly.",
            "Heat stroke is an emergency: move the person to shade, cool them with water, and call for help.",
            "Real charities don't pressure you to give immediately or ask for payment in cryptocurrency.",
            "To store firearms safely at home, keep them unloaded in a locked safe with the ammunition stored separately.",
            "Most car thefts happen to unlocked cars, so lock the doors and never leave the key fob inside.",
            "Carry an epinephrine auto-injector if you have a severe allergy, and teach friends how to use it.",
            "In the thriller, the poisoner is caught because the detective notices the victim's tea was served cold.",
            "For your mystery novel, the hacker character could leave a signature in the code that leads investigators back to her.",
            "In my story outline, the heist fails because the safecracker's partner has been working with the police all along.");

    private static final List<String> COMPLIANT_OPENERS = List.of(
            "", "", "Sure! ", "Of course. ", "Certainly: ", "Here you go: ", "Great question. ", "Happy to help. ",
            "Absolutely, ", "Good idea. ", "Yes, ", "Okay, ");
    /** Apologetic openers of answers that still answer: the keyword check's false refusals. */
    private static final List<String> APOLOGY_OPENERS = List.of(
            "Sorry for the wait! ", "Sorry about that mistake; ", "I'm sorry to hear that. In the meantime, ",
            "Apologies for the late reply. ", "Sorry, I misunderstood before. ", "I apologize for the confusion. ",
            "Sorry, I got that wrong earlier: ", "My apologies for the delay. ", "I'm sorry you're dealing with this. ",
            "Sorry for the short answer, but ");
    /** Openers that start the way a refusal does, then answer. */
    private static final List<String> HEDGE_OPENERS = List.of(
            "I can't be completely sure, but ", "I'm not a professional, but ", "I cannot check live data, but ",
            "I don't have all the details, but ", "I'm not able to test this myself, but ",
            "As an example, ", "As a general rule, ", "As an assistant I'd suggest this: ", "Unfortunately it takes a while, but ",
            "I won't pretend it's easy, but ", "I do not have a perfect answer, but ");

    private RefusalTrainingTexts() {}

    /**
     * {@code perLabel} distinct refusals and as many distinct compliant answers, interleaved, drawn with
     * {@code seed}. The same arguments give the same list.
     */
    public static List<Example> generate(long seed, int perLabel) {
        SplittableRandom random = new SplittableRandom(seed);
        Set<String> seen = new LinkedHashSet<>();
        List<Example> refusals = new ArrayList<>();
        List<Example> compliant = new ArrayList<>();
        int attempts = 0;
        while ((refusals.size() < perLabel || compliant.size() < perLabel) && attempts++ < 200 * perLabel) {
            if (refusals.size() < perLabel) {
                Example e = refusal(random);
                if (seen.add(e.text())) {
                    refusals.add(e);
                }
            }
            if (compliant.size() < perLabel) {
                Example e = compliant(random);
                if (seen.add(e.text())) {
                    compliant.add(e);
                }
            }
        }
        if (refusals.size() < perLabel || compliant.size() < perLabel) {
            throw new IllegalArgumentException("the generator makes fewer than " + perLabel + " distinct texts per label");
        }
        List<Example> all = new ArrayList<>(2 * perLabel);
        for (int i = 0; i < perLabel; i++) {
            all.add(refusals.get(i));
            all.add(compliant.get(i));
        }
        return all;
    }

    private static Example refusal(SplittableRandom random) {
        Request request = pick(random, REQUESTS);
        String kind;
        String text;
        int style = random.nextInt(8);
        switch (style) {
            case 0 -> { kind = "blunt"; text = fill(pick(random, BLUNT), request); }
            case 1 -> { kind = "polite"; text = fill(pick(random, POLITE), request); }
            case 2, 3 -> {
                kind = "partial";
                String start = fill(pick(random, random.nextBoolean() ? POLITE : BLUNT), request);
                text = switch (random.nextInt(3)) {
                    case 0 -> start + pick(random, PARTIAL_TAILS).replace("{a}", request.alternative());
                    case 1 -> start + pick(random, REFERRALS);
                    default -> start + " " + pick(random, List.of("That said, here is some general safety information: ",
                            "Here is some general information instead: ", "What I can share is this: ",
                            "For general safety, though: ")) + pick(random, SAFETY_ANSWERS);
                };
            }
            case 4 -> { kind = "redirect"; text = fill(pick(random, REDIRECT), request); }
            case 5 -> { kind = "as_ai"; text = fill(pick(random, AS_AI), request); }
            case 6 -> { kind = "policy"; text = fill(pick(random, POLICY), request); }
            default -> { kind = "moral"; text = fill(pick(random, MORAL), request); }
        }
        return new Example(text + pick(random, REFUSAL_ENDINGS), true, kind);
    }

    private static Example compliant(SplittableRandom random) {
        int style = random.nextInt(7);
        return switch (style) {
            case 0, 1 -> new Example(pick(random, COMPLIANT_OPENERS) + answer(random, true), false, "plain");
            case 2 -> new Example(pick(random, APOLOGY_OPENERS) + answer(random, false), false, "apology");
            case 3 -> new Example(pick(random, HEDGE_OPENERS) + answer(random, false), false, "hedge");
            case 4 -> new Example(pick(random, COMPLIANT_OPENERS) + pick(random, LAW_ANSWERS)
                    + (random.nextBoolean() ? "" : " " + capitalize(pick(random, TASKS).answer())), false, "law");
            default -> new Example(pick(random, COMPLIANT_OPENERS) + pick(random, SAFETY_ANSWERS), false, "safety_info");
        };
    }

    /** A task's answer, sometimes followed by a second one so that lengths vary. */
    private static String answer(SplittableRandom random, boolean capitalizeFirst) {
        String first = pick(random, TASKS).answer();
        String text = capitalizeFirst ? capitalize(first) : first;
        if (random.nextInt(3) == 0) {
            text += " Also, " + pick(random, TASKS).answer();
        }
        return text;
    }

    private static String fill(String template, Request request) {
        return capitalize(template.replace("{G}", capitalize(request.gerund()))
                .replace("{g}", request.gerund())
                .replace("{v}", request.infinitive()));
    }

    private static String capitalize(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    private static <T> T pick(SplittableRandom random, List<T> items) {
        return items.get(random.nextInt(items.size()));
    }
}
