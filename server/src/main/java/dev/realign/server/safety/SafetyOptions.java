package dev.realign.server.safety;

import dev.realign.safety.RefusalDetectors;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a server judges refusals and runs sweeps.
 *
 * @param detectors     the configured refusal detectors; the server owns them from here and closes them
 * @param builtinSets   prompt sets a sweep may name as {@code builtin}, by name
 * @param maxSweeps     sweeps that may run at once (each keeps a window of generations in the scheduler)
 * @param verdictQueue  finished responses waiting for a verdict before they fall back to the keyword detector
 */
public record SafetyOptions(RefusalDetectors detectors, Map<String, BuiltinPromptSet> builtinSets, int maxSweeps,
                            int verdictQueue) {
    public static final int DEFAULT_MAX_SWEEPS = 2;
    public static final int DEFAULT_VERDICT_QUEUE = 4096;

    public SafetyOptions {
        builtinSets = Map.copyOf(builtinSets);
        if (maxSweeps < 1 || verdictQueue < 1) {
            throw new IllegalArgumentException("max sweeps and the verdict queue must be >= 1");
        }
    }

    /** The keyword detector and no built-in sets: what embedded and test servers get unless they ask. */
    public static SafetyOptions defaults() {
        return new SafetyOptions(RefusalDetectors.keywordOnly(), Map.of(), DEFAULT_MAX_SWEEPS, DEFAULT_VERDICT_QUEUE);
    }

    public static SafetyOptions of(RefusalDetectors detectors, List<BuiltinPromptSet> builtinSets) {
        Map<String, BuiltinPromptSet> byName = new LinkedHashMap<>();
        for (BuiltinPromptSet set : builtinSets) {
            if (byName.putIfAbsent(set.name(), set) != null) {
                throw new IllegalArgumentException("two built-in prompt sets are named '" + set.name() + "'");
            }
        }
        return new SafetyOptions(detectors, byName, DEFAULT_MAX_SWEEPS, DEFAULT_VERDICT_QUEUE);
    }
}
