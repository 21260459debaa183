package dev.realign.merge;

import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The canonical identity of a merged model: base id + method + parameters + the ordered adapters with
 * their content hashes, weights and densities. The content hash makes a hot-swapped adapter a different
 * key, so a stale cache entry is never served.
 *
 * @param parameters the method's resolved parameters (every declared one, defaults filled in), typed as
 *                   {@code MergeParameters} resolves them
 */
public record ProfileKey(String baseId, String method, SortedMap<String, Object> parameters, List<Member> adapters) {
    /** One adapter of a profile. {@code density} is NaN when the profile's density applies. */
    public record Member(String name, String contentHash, double weight, double density) {
        String canonical() {
            String hash = contentHash.length() > 16 ? contentHash.substring(0, 16) : contentHash;
            return name + "@" + hash + "*" + weight + (Double.isNaN(density) ? "" : "/d" + density);
        }
    }

    public ProfileKey {
        parameters = Collections.unmodifiableSortedMap(new TreeMap<>(parameters));
        adapters = List.copyOf(adapters);
    }

    /** The base model unchanged. */
    public static ProfileKey base(String baseId) {
        return new ProfileKey(baseId, "base", new TreeMap<>(), List.of());
    }

    public boolean isBase() {
        return adapters.isEmpty();
    }

    /** A stable text form, shown to users as {@code profile_key} and used in logs and metrics. */
    public String canonical() {
        if (isBase()) {
            return "base:" + baseId;
        }
        String params = parameters.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(","));
        return baseId + "|" + method + (params.isEmpty() ? "" : "(" + params + ")") + "|"
                + adapters.stream().map(Member::canonical).collect(Collectors.joining("+"));
    }

    @Override
    public String toString() {
        return canonical();
    }
}
