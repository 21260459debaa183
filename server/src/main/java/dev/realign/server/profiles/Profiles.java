package dev.realign.server.profiles;

import ai.djl.ndarray.NDManager;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.MergeProfile;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.MergedProfile;
import dev.realign.merge.ProfileKey;
import dev.realign.merge.ProfileMerger;
import dev.realign.merge.methods.MergeMethod;
import dev.realign.merge.methods.MergeMethods;
import dev.realign.merge.methods.MergeParameters;
import dev.realign.model.LoadedModel;
import dev.realign.model.Weights;
import dev.realign.server.adapters.AdapterRegistry;
import dev.realign.server.adapters.AdapterVersion;
import dev.realign.server.tenancy.Tenant;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;

/**
 * Per-request merge profiles of one base model: turns the API's {@link MergeProfile} into a canonical
 * {@link ProfileKey} (checking every field, errors naming it), and builds the weights of a key for the
 * profile cache, unmerged for LoRA under linear methods and materialized otherwise.
 */
public final class Profiles {
    private final LoadedModel model;
    private final AdapterRegistry adapters;

    public Profiles(LoadedModel model, AdapterRegistry adapters) {
        this.model = model;
        this.adapters = adapters;
    }

    /**
     * The canonical key of a request's profile for {@code tenant}: a preset is replaced by the tenant's
     * definition, and adapter names are looked up in the tenant's namespace (another tenant's adapter is
     * NOT_FOUND, exactly as if it did not exist).
     */
    public ProfileKey resolve(MergeProfile requested, Tenant tenant) {
        MergeProfile profile = requested;
        String where = "profile";
        if (!requested.getPreset().isEmpty()) {
            if (!requested.toBuilder().clearPreset().build().equals(MergeProfile.getDefaultInstance())) {
                throw invalid("profile.preset '" + requested.getPreset() + "' names a whole profile: "
                        + "the other profile fields must be empty");
            }
            profile = tenant.presets().get(requested.getPreset());
            if (profile == null) {
                throw Status.NOT_FOUND.withDescription("profile.preset '" + requested.getPreset()
                        + "' is not defined for tenant '" + tenant.name() + "'"
                        + (tenant.presets().isEmpty() ? "" : " (defined: "
                        + String.join(", ", tenant.presets().keySet().stream().sorted().toList()) + ")"))
                        .asRuntimeException();
            }
            where = "preset '" + requested.getPreset() + "'";
        }
        if (profile.getAdaptersCount() == 0) {
            return ProfileKey.base(model.id());
        }
        MergeMethod method = method(profile);
        int count = profile.getAdaptersCount();
        if (count < method.minAdapters() || count > method.maxAdapters()) {
            throw invalid(where + ".method " + method.name() + " merges " + method.minAdapters()
                    + (method.maxAdapters() == Integer.MAX_VALUE ? " or more" : ".." + method.maxAdapters())
                    + " adapters, the profile names " + count);
        }
        List<ProfileKey.Member> members = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            AdapterWeight a = profile.getAdapters(i);
            String field = where + ".adapters[" + i + "]";
            if (a.getName().isEmpty()) {
                throw invalid(field + ".name must not be empty");
            }
            String qualified = tenant.qualify(a.getName());
            AdapterVersion version = adapters.get(qualified).orElseThrow(() -> Status.NOT_FOUND.withDescription(
                    field + ".name: adapter '" + a.getName() + "' is not loaded for model '" + model.id() + "'")
                    .asRuntimeException());
            if (!Double.isFinite(a.getWeight())) {
                throw invalid(field + ".weight must be a finite number, got " + a.getWeight());
            }
            double density = a.hasDensity() ? a.getDensity() : profile.hasDensity() ? profile.getDensity() : 1;
            if (!(density > 0 && density <= 1)) {
                throw invalid((a.hasDensity() ? field + ".density" : "profile.density") + " must be in (0, 1], got "
                        + density);
            }
            if (density != 1 && !method.usesDensity()) {
                throw invalid("profile.method " + method.name() + " does not sparsify: density must be 1, got " + density);
            }
            members.add(new ProfileKey.Member(qualified, version.source().contentHash(), a.getWeight(), density));
        }
        SortedMap<String, Object> resolved;
        try {
            resolved = parameters(profile).resolve(method);
        } catch (IllegalArgumentException e) {
            throw invalid("profile: " + e.getMessage());
        }
        return new ProfileKey(model.id(), method.name(), resolved, members);
    }

    private static MergeMethod method(MergeProfile profile) {
        String name = switch (profile.getMethod()) {
            case MERGE_METHOD_UNSPECIFIED -> "linear";
            case UNRECOGNIZED -> throw invalid("profile.method: unknown value " + profile.getMethodValue());
            default -> profile.getMethod().name().toLowerCase(Locale.ROOT);
        };
        try {
            return MergeMethods.byName(name);
        } catch (IllegalArgumentException e) {
            throw invalid("profile.method: " + e.getMessage());
        }
    }

    /** The method-wide parameters the request set; the method's defaults fill the rest. */
    private static MergeParameters parameters(MergeProfile p) {
        MergeParameters params = MergeParameters.DEFAULTS;
        if (p.hasLambda()) {
            params = params.withLambda(p.getLambda());
        }
        if (p.hasT()) {
            params = params.withT(p.getT());
        }
        if (p.hasGamma()) {
            params = params.withGamma(p.getGamma());
        }
        if (p.hasEpsilon()) {
            params = params.withEpsilon(p.getEpsilon());
        }
        if (p.hasNormalize()) {
            params = params.withNormalize(p.getNormalize());
        }
        if (p.hasRescale()) {
            params = params.withRescale(p.getRescale());
        }
        if (p.hasThreshold()) {
            params = params.withThreshold(p.getThreshold());
        }
        if (!p.getMajoritySign().isEmpty()) {
            params = params.with("majority_sign", p.getMajoritySign());
        }
        if (p.getSeed() != 0) {
            params = params.withSeed(p.getSeed());
        }
        return params;
    }

    /** Builds a key's weights (runs on the profile cache's merge executor). */
    public MergedProfile build(ProfileKey key) {
        long start = System.nanoTime();
        MergeMethod method = MergeMethods.byName(key.method());
        MergeParameters params = MergeParameters.of(Map.copyOf(key.parameters()));
        List<AdapterVersion> versions = retainVersions(key);
        boolean handedOver = false;
        try {
            for (AdapterVersion version : versions) {
                version.countRequest();
            }
            List<DeltaSource> sources = versions.stream().map(AdapterVersion::source).toList();
            var inputs = new ProfileMerger.Inputs(sources,
                    key.adapters().stream().mapToDouble(ProfileKey.Member::weight).toArray(),
                    key.adapters().stream().mapToDouble(ProfileKey.Member::density).toArray());
            double[] coefficients = ProfileMerger.unmergedCoefficients(method, params, inputs);
            if (coefficients != null) {
                // The unmerged view reads the adapters' factors: the profile holds their versions.
                Weights weights = ProfileMerger.unmerged(model.weights(), sources, coefficients);
                handedOver = true;
                return new MergedProfile(key, weights, null, 0, elapsed(start), versions);
            }
            NDManager manager = model.manager().newSubManager();
            try {
                var merged = ProfileMerger.materialize(model.weights(), method, params, inputs, manager);
                return new MergedProfile(key, model.weights().withOverrides(merged.overrides()), manager,
                        merged.bytes(), elapsed(start), List.of());
            } catch (IllegalArgumentException e) {
                manager.close();
                throw invalid("profile " + key + ": " + e.getMessage());
            } catch (RuntimeException e) {
                manager.close();
                throw e;
            }
        } finally {
            if (!handedOver) {
                versions.forEach(AdapterVersion::close); // merged tensors are the profile's own
            }
        }
    }

    /** References to the exact adapter versions the key names; UNAVAILABLE if one was swapped out meanwhile. */
    private List<AdapterVersion> retainVersions(ProfileKey key) {
        List<AdapterVersion> versions = new ArrayList<>();
        for (ProfileKey.Member m : key.adapters()) {
            var version = adapters.retain(m.name(), m.contentHash());
            if (version.isEmpty()) {
                versions.forEach(AdapterVersion::close);
                throw Status.UNAVAILABLE.withDescription("adapter '" + m.name() + "' was replaced or unloaded "
                        + "while the request waited for its merge; retry").asRuntimeException();
            }
            versions.add(version.get());
        }
        return versions;
    }

    private static Duration elapsed(long start) {
        return Duration.ofNanos(System.nanoTime() - start);
    }

    private static RuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}
