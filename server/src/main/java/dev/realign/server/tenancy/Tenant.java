package dev.realign.server.tenancy;

import dev.realign.api.v1.MergeProfile;
import dev.realign.merge.ProfileKey;
import dev.realign.server.adapters.AdapterRoots;
import io.grpc.Status;
import java.util.Map;
import java.util.Set;

/**
 * One tenant as the configuration defines it (an immutable snapshot: a reload makes new ones).
 *
 * @param name          shown in errors and logs
 * @param adapterPrefix prepended to the tenant's adapter names inside the shared per-model registry, so two
 *                      tenants' "task" never meet; empty for the development tenant, whose names are as typed
 * @param keyHashes     SHA-256 hex digests of the API keys (lower case); the keys themselves are never stored
 * @param roots         the folders {@code Adapters.Load} may read for this tenant
 * @param presets       named merge profiles, in the API's form with tenant-visible adapter names
 */
public record Tenant(String name, String adapterPrefix, Set<String> keyHashes, AdapterRoots roots,
                     Map<String, MergeProfile> presets, Policy policy) {
    public static final String DEVELOPMENT = "default";

    public Tenant {
        keyHashes = Set.copyOf(keyHashes);
        presets = Map.copyOf(presets);
    }

    /** The one open tenant of a server started without a tenants configuration. */
    public static Tenant development(AdapterRoots roots) {
        return new Tenant(DEVELOPMENT, "", Set.of(), roots, Map.of(), Policy.UNLIMITED);
    }

    /** The registry name of this tenant's adapter {@code name}. */
    public String qualify(String adapter) {
        return adapterPrefix + adapter;
    }

    /** Whether a registry name belongs to this tenant. */
    public boolean owns(String qualified) {
        return qualified.startsWith(adapterPrefix);
    }

    /** The name this tenant knows a registry name by. */
    public String unqualify(String qualified) {
        return qualified.substring(adapterPrefix.length());
    }

    /** PERMISSION_DENIED naming the rule when a resolved profile breaks this tenant's policy. */
    public void checkProfile(ProfileKey key) {
        if (key.isBase()) {
            return; // the aligned model itself is always allowed
        }
        var weights = Policy.summed(key.adapters().stream()
                .map(m -> Map.entry(unqualify(m.name()), m.weight())).toList());
        double scale = key.parameters().get("lambda") instanceof Number lambda ? lambda.doubleValue() : 1;
        policy.violation(name, key.method(), weights, scale).ifPresent(rule -> {
            throw Status.PERMISSION_DENIED.withDescription(rule).asRuntimeException();
        });
    }

    /**
     * The max_tokens a request may run with: an explicit {@code sampling.max_tokens} over the policy is
     * PERMISSION_DENIED; a server default over it (the request left 0) is lowered to the policy's bound.
     */
    public int checkMaxTokens(long requested, int effective) {
        int limit = policy.maxTokens();
        if (limit == 0 || effective <= limit) {
            return effective;
        }
        if (requested == 0) {
            return limit;
        }
        throw Status.PERMISSION_DENIED.withDescription("policy max_tokens: sampling.max_tokens " + requested
                + " exceeds " + limit + " for tenant '" + name + "'").asRuntimeException();
    }
}
