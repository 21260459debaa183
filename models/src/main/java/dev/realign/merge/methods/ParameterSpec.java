package dev.realign.merge.methods;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A parameter a merge method declares: its name (mergekit's spelling), what it does, its type, its default
 * and the values it accepts. Data, so that the API, the command line and the README can list them.
 *
 * <p>The value range is numeric for every type: a {@link Type#BOOLEAN} is 0 (false) or 1 (true), a
 * {@link Type#CHOICE}'s {@code defaultValue} is an index into {@code choices}, an {@link Type#INTEGER}'s
 * bounds are the whole {@code long} range unless said otherwise.
 *
 * @param name          the parameter's name, as in mergekit's YAML: {@code lambda}, {@code t}, {@code gamma}, ...
 * @param description   one sentence for help texts
 * @param type          how the value is written and read
 * @param defaultValue  the value when the profile does not set it (see the class comment for non-real types)
 * @param min           smallest accepted value (ignored for BOOLEAN and CHOICE)
 * @param max           largest accepted value (ignored for BOOLEAN and CHOICE)
 * @param minInclusive  whether {@code min} itself is accepted
 * @param maxInclusive  whether {@code max} itself is accepted
 * @param choices       the accepted spellings of a CHOICE, empty for other types
 */
public record ParameterSpec(
        String name,
        String description,
        Type type,
        double defaultValue,
        double min,
        double max,
        boolean minInclusive,
        boolean maxInclusive,
        List<String> choices) {

    /** How a parameter's value is written. */
    public enum Type {
        /** A finite real number within [min, max]. */
        REAL,
        /** A whole number (a seed), held as a {@code long}. */
        INTEGER,
        /** true or false. */
        BOOLEAN,
        /** One of {@link ParameterSpec#choices()}, case-insensitive. */
        CHOICE
    }

    public ParameterSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(type, "type");
        choices = List.copyOf(choices);
        if (type == Type.CHOICE && (choices.isEmpty() || defaultValue < 0 || defaultValue >= choices.size())) {
            throw new IllegalArgumentException("choice parameter " + name + " needs choices and a default index");
        }
    }

    /** A real parameter within [min, max] (inclusive ends as given). */
    public static ParameterSpec real(
            String name, String description, double defaultValue,
            double min, boolean minInclusive, double max, boolean maxInclusive) {
        return new ParameterSpec(name, description, Type.REAL, defaultValue, min, max, minInclusive, maxInclusive,
                List.of());
    }

    /** A boolean parameter. */
    public static ParameterSpec bool(String name, String description, boolean defaultValue) {
        return new ParameterSpec(name, description, Type.BOOLEAN, defaultValue ? 1 : 0, 0, 1, true, true, List.of());
    }

    /** A whole-number parameter over the whole {@code long} range. */
    public static ParameterSpec integer(String name, String description, long defaultValue) {
        return new ParameterSpec(name, description, Type.INTEGER, defaultValue, Long.MIN_VALUE, Long.MAX_VALUE,
                true, true, List.of());
    }

    /** A parameter that takes one of {@code choices}; the first choice is the default. */
    public static ParameterSpec choice(String name, String description, List<String> choices) {
        return new ParameterSpec(name, description, Type.CHOICE, 0, 0, choices.size() - 1, true, true, choices);
    }

    /** The default as the user writes it: {@code 0.01}, {@code true}, {@code sum}, {@code 0}. */
    public String defaultText() {
        return switch (type) {
            case REAL -> formatReal(defaultValue);
            case INTEGER -> Long.toString((long) defaultValue);
            case BOOLEAN -> Boolean.toString(defaultValue != 0);
            case CHOICE -> choices.get((int) defaultValue);
        };
    }

    /** The accepted values as the user reads them: {@code (0, 1]}, {@code true|false}, {@code sum|count}. */
    public String rangeText() {
        return switch (type) {
            case REAL -> (minInclusive ? "[" : "(") + formatReal(min) + ", " + formatReal(max)
                    + (maxInclusive ? "]" : ")");
            case INTEGER -> "any 64-bit integer";
            case BOOLEAN -> "true|false";
            case CHOICE -> String.join("|", choices);
        };
    }

    /** Whether a real value lies in this parameter's range (NaN never does). */
    public boolean accepts(double value) {
        if (Double.isNaN(value)) {
            return false;
        }
        boolean aboveMin = minInclusive ? value >= min : value > min;
        boolean belowMax = maxInclusive ? value <= max : value < max;
        return aboveMin && belowMax;
    }

    static String formatReal(double v) {
        if (v == Double.POSITIVE_INFINITY) {
            return "inf";
        }
        if (v == Double.NEGATIVE_INFINITY) {
            return "-inf";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, "%s", v);
    }
}
