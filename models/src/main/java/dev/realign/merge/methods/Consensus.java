package dev.realign.merge.methods;

import java.util.Locale;

/**
 * How TIES-style methods elect the sign of each entry (mergekit's {@code consensus_method}, Realign's
 * {@code majority_sign} parameter).
 */
public enum Consensus {
    /** Majority sign is the sign of the sum of the weighted deltas (the TIES paper; mergekit's default). */
    SUM,
    /** Majority sign is the sign of the sum of the signs of the weighted deltas (a plain vote). */
    COUNT;

    /** The spelling in parameters and YAML: {@code sum} or {@code count}. */
    public String spelling() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The constant for a spelling, case-insensitive. */
    public static Consensus parse(String spelling) {
        for (Consensus c : values()) {
            if (c.spelling().equalsIgnoreCase(spelling.strip())) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown majority sign \"" + spelling + "\" (known: sum, count)");
    }
}
