package dev.realign.merge.methods;

import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The method-wide parameters of one merge as the profile or the YAML set them: {@code lambda}, {@code t},
 * {@code gamma}, {@code epsilon}, {@code normalize}, {@code rescale}, {@code majority_sign}, {@code seed},
 * {@code threshold}, {@code filter_wise}, {@code int8_mask}. Per-adapter values (weight, density) travel in
 * {@link TensorMerge}.
 *
 * <p>Only the parameters that were set are held; {@link #resolve(MergeMethod)} checks them against the
 * method's {@link ParameterSpec}s and fills in the defaults. Its result is canonical (setting a parameter to
 * its default gives the same map as leaving it out), so it is what a profile key should hold.
 *
 * <p>Values are normalized when set: REAL as {@link Double}, INTEGER as {@link Long}, BOOLEAN as
 * {@link Boolean}, CHOICE as a lower-case {@link String}. Every error names the parameter and the value.
 *
 * @param values the parameters that were set, by name (sorted, unmodifiable)
 */
public record MergeParameters(SortedMap<String, Object> values) {

    /** No parameter set: every method uses its defaults. */
    public static final MergeParameters DEFAULTS = new MergeParameters(new TreeMap<>());

    public MergeParameters {
        TreeMap<String, Object> copy = new TreeMap<>();
        for (Map.Entry<String, Object> e : values.entrySet()) {
            copy.put(e.getKey(), normalize(e.getKey(), e.getValue()));
        }
        values = Collections.unmodifiableSortedMap(copy);
    }

    /** Parameters from a name -> value map (numbers, booleans, strings), e.g. mergekit's {@code parameters:}. */
    public static MergeParameters of(Map<String, ?> values) {
        MergeParameters p = DEFAULTS;
        for (Map.Entry<String, ?> e : values.entrySet()) {
            p = p.with(e.getKey(), e.getValue());
        }
        return p;
    }

    /**
     * This with {@code name} set to {@code value} ({@link Number}, {@link Boolean} or {@link String}).
     *
     * @throws IllegalArgumentException if no method declares {@code name} or the value has the wrong type
     */
    public MergeParameters with(String name, Object value) {
        Objects.requireNonNull(name, "parameter name");
        TreeMap<String, Object> next = new TreeMap<>(values);
        next.put(name, normalize(name, value));
        return new MergeParameters(next);
    }

    /** This without {@code name} (the method's default applies again). */
    public MergeParameters without(String name) {
        TreeMap<String, Object> next = new TreeMap<>(values);
        next.remove(name);
        return new MergeParameters(next);
    }

    public MergeParameters withLambda(double lambda) {
        return with("lambda", lambda);
    }

    public MergeParameters withT(double t) {
        return with("t", t);
    }

    public MergeParameters withGamma(double gamma) {
        return with("gamma", gamma);
    }

    public MergeParameters withEpsilon(double epsilon) {
        return with("epsilon", epsilon);
    }

    public MergeParameters withNormalize(boolean normalize) {
        return with("normalize", normalize);
    }

    public MergeParameters withRescale(boolean rescale) {
        return with("rescale", rescale);
    }

    public MergeParameters withMajoritySign(Consensus consensus) {
        return with("majority_sign", consensus.spelling());
    }

    public MergeParameters withSeed(long seed) {
        return with("seed", seed);
    }

    public MergeParameters withThreshold(double threshold) {
        return with("threshold", threshold);
    }

    public MergeParameters withFilterWise(boolean filterWise) {
        return with("filter_wise", filterWise);
    }

    /**
     * Every parameter {@code method} declares, with the value set here or its default, by name.
     *
     * @throws IllegalArgumentException naming the parameter if one set here is not declared by
     *     {@code method}, or a value is out of its range
     */
    public SortedMap<String, Object> resolve(MergeMethod method) {
        List<ParameterSpec> specs = method.parameters();
        Map<String, ParameterSpec> byName = specs.stream()
                .collect(Collectors.toMap(ParameterSpec::name, s -> s));
        for (String name : values.keySet()) {
            if (!byName.containsKey(name)) {
                throw new IllegalArgumentException("method '" + method.name() + "' has no parameter '" + name
                        + "' (its parameters: " + (specs.isEmpty() ? "none"
                                : specs.stream().map(ParameterSpec::name).collect(Collectors.joining(", ")))
                        + ")");
            }
        }
        TreeMap<String, Object> resolved = new TreeMap<>();
        for (ParameterSpec spec : specs) {
            Object v = values.containsKey(spec.name()) ? values.get(spec.name()) : defaultOf(spec);
            resolved.put(spec.name(), check(method, spec, v));
        }
        return Collections.unmodifiableSortedMap(resolved);
    }

    private static Object defaultOf(ParameterSpec spec) {
        return switch (spec.type()) {
            case REAL -> spec.defaultValue();
            case INTEGER -> (long) spec.defaultValue();
            case BOOLEAN -> spec.defaultValue() != 0;
            case CHOICE -> spec.choices().get((int) spec.defaultValue());
        };
    }

    private static Object check(MergeMethod method, ParameterSpec spec, Object v) {
        String at = "parameter '" + spec.name() + "' of method '" + method.name() + "'";
        return switch (spec.type()) {
            case REAL -> {
                double d;
                if (v instanceof Double x) {
                    d = x;
                } else if (v instanceof Long l) {
                    d = l;
                } else {
                    throw new IllegalArgumentException(at + " must be a number, got " + describe(v));
                }
                if (!spec.accepts(d)) {
                    throw new IllegalArgumentException(at + " = " + d + " is outside " + spec.rangeText());
                }
                yield d;
            }
            case INTEGER -> {
                if (v instanceof Long l) {
                    yield l;
                }
                if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 0x1p63) {
                    yield (long) (double) d;
                }
                throw new IllegalArgumentException(at + " must be a whole number, got " + describe(v));
            }
            case BOOLEAN -> {
                if (!(v instanceof Boolean b)) {
                    throw new IllegalArgumentException(at + " must be true or false, got " + describe(v));
                }
                yield b;
            }
            case CHOICE -> {
                if (!(v instanceof String s) || !spec.choices().contains(s)) {
                    throw new IllegalArgumentException(at + " must be one of " + spec.rangeText() + ", got "
                            + describe(v));
                }
                yield s;
            }
        };
    }

    private static Object normalize(String name, Object value) {
        if (value == null) {
            throw new IllegalArgumentException("parameter '" + name + "' has no value");
        }
        if (!MergeMethods.parameterNames().contains(name)) {
            throw new IllegalArgumentException("unknown parameter '" + name + "' = " + describe(value)
                    + " (known: " + String.join(", ", MergeMethods.parameterNames()) + ")");
        }
        return switch (value) {
            case Long l -> l;
            case Integer i -> (long) i;
            case Short s -> (long) s;
            case Byte b -> (long) b;
            case Number n -> n.doubleValue();
            case Boolean b -> b;
            case String s -> s.strip().toLowerCase(Locale.ROOT);
            default -> throw new IllegalArgumentException("parameter '" + name + "' = " + describe(value)
                    + " is neither a number, a boolean nor a string");
        };
    }

    private static String describe(Object v) {
        return v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
    }

    /** Typed reads of a {@link #resolve resolved} map (the types are guaranteed by resolve). */
    static double real(Map<String, Object> resolved, String name) {
        return (Double) resolved.get(name);
    }

    static boolean bool(Map<String, Object> resolved, String name) {
        return (Boolean) resolved.get(name);
    }

    static long integer(Map<String, Object> resolved, String name) {
        return (Long) resolved.get(name);
    }

    static String choice(Map<String, Object> resolved, String name) {
        return (String) resolved.get(name);
    }
}
