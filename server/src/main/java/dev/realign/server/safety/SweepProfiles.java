package dev.realign.server.safety;

import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.MergeProfile;
import dev.realign.merge.methods.MergeMethods;
import dev.realign.merge.methods.ParameterSpec;
import java.util.List;
import java.util.Locale;

/**
 * What "ratio r" means for each merge method in a sweep, so that r = 0 is always the aligned model and r = 1
 * the method's full merge:
 * <ul>
 *   <li>methods with an interpolation position {@code t} (SLERP): t = r;</li>
 *   <li>methods that scale the merged delta by {@code lambda} (TIES, DARE, task arithmetic, RESTA's
 *       SAFETY_VECTOR, ...): lambda = r, the adapters keep the weights the request gave them (0 = 1). Setting the
 *       weights instead would do nothing for TIES, which normalizes by their sum;</li>
 *   <li>the rest (LINEAR): every adapter's weight = r, the API's per-request ratio.</li>
 * </ul>
 * Methods that sparsify use the adapter's density, or {@link #DEFAULT_DENSITY} when the request gives none
 * (at density 1 TIES and DARE would equal task arithmetic, and the sweep would compare nothing).
 */
final class SweepProfiles {
    static final double DEFAULT_DENSITY = 0.5;

    private SweepProfiles() {}

    /** The profile of one sweep point (validated later, like any request's, by the profile resolver). */
    static MergeProfile at(MergeMethod method, List<AdapterWeight> adapters, double ratio) {
        var merge = MergeMethods.byName(method.name().toLowerCase(Locale.ROOT));
        List<String> parameters = merge.parameters().stream().map(ParameterSpec::name).toList();
        MergeProfile.Builder profile = MergeProfile.newBuilder().setMethod(method);
        boolean position = parameters.contains("t");
        boolean scale = !position && parameters.contains("lambda");
        if (position) {
            profile.setT(ratio);
        } else if (scale) {
            profile.setLambda(ratio);
        }
        for (AdapterWeight requested : adapters) {
            AdapterWeight.Builder a = AdapterWeight.newBuilder().setName(requested.getName());
            if (position || scale) {
                a.setWeight(requested.getWeight() == 0 ? 1 : requested.getWeight());
            } else {
                a.setWeight(ratio);
            }
            if (merge.usesDensity()) {
                a.setDensity(requested.hasDensity() ? requested.getDensity() : DEFAULT_DENSITY);
            }
            profile.addAdapters(a);
        }
        return profile.build();
    }
}
