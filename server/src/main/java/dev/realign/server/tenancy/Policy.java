package dev.realign.server.tenancy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a tenant may ask for. A violated rule is reported by name ({@code policy max_ratio: ...}) so an
 * operator can find it in the configuration.
 *
 * @param allowedMethods        merge method names (as {@code MergeMethods} spells them); empty = every method
 * @param maxRatio              the largest weight a request may give an adapter, by adapter name; the key
 *                              {@code "*"} bounds every adapter not named, so loading a fine-tune under a
 *                              fresh name does not escape the floor
 * @param maxConcurrentRequests generations running or queued at once; 0 = no limit
 * @param maxTokens             {@code sampling.max_tokens} bound per request; 0 = no limit
 */
public record Policy(Set<String> allowedMethods, Map<String, Double> maxRatio, int maxConcurrentRequests,
                     int maxTokens) {
    public static final String ANY_ADAPTER = "*";
    public static final Policy UNLIMITED = new Policy(Set.of(), Map.of(), 0, 0);

    public Policy {
        allowedMethods = Set.copyOf(allowedMethods);
        maxRatio = Map.copyOf(maxRatio);
        if (maxConcurrentRequests < 0 || maxTokens < 0) {
            throw new IllegalArgumentException("policy limits must be >= 0");
        }
    }

    /** The ratio bound of an adapter, if any. */
    public Optional<Double> maxRatioOf(String adapter) {
        Double bound = maxRatio.getOrDefault(adapter, maxRatio.get(ANY_ADAPTER));
        return Optional.ofNullable(bound);
    }

    /**
     * The first rule a merge breaks, as a message naming it, or empty. {@code weights} are the adapter
     * weights by (tenant-visible) name, repeated adapters summed; {@code scale} multiplies them (the
     * method's lambda), since lambda 2 at weight 0.5 serves as much of the fine-tune as weight 1.
     */
    public Optional<String> violation(String tenant, String method, Map<String, Double> weights, double scale) {
        if (!allowedMethods.isEmpty() && !allowedMethods.contains(method)) {
            return Optional.of("policy allowed_methods: method '" + method + "' is not allowed for tenant '" + tenant
                    + "' (allowed: " + String.join(", ", allowedMethods.stream().sorted().toList()) + ")");
        }
        for (var entry : weights.entrySet()) {
            Optional<Double> bound = maxRatioOf(entry.getKey());
            double effective = entry.getValue() * scale;
            if (bound.isPresent() && effective > bound.get()) {
                String amount = scale == 1 ? "weight " + entry.getValue()
                        : "weight " + entry.getValue() + " x lambda " + scale + " = " + effective;
                return Optional.of("policy max_ratio: adapter '" + entry.getKey() + "' " + amount + " exceeds "
                        + bound.get() + " for tenant '" + tenant + "'");
            }
        }
        return Optional.empty();
    }

    /** Sums the weights of adapters named more than once, keeping the first-seen order. */
    static Map<String, Double> summed(Iterable<Map.Entry<String, Double>> members) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (var m : members) {
            out.merge(m.getKey(), m.getValue(), Double::sum);
        }
        return out;
    }
}
