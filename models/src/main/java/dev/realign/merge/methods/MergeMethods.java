package dev.realign.merge.methods;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The registry of merge methods, by mergekit's names (explicit, like mergekit's {@code registry.py}).
 *
 * <table>
 * <caption>The generalized-task-arithmetic variants (mergekit's defaults)</caption>
 * <tr><th>name</th><th>sparsifier</th><th>consensus</th><th>normalize</th><th>rescale</th></tr>
 * <tr><td>task_arithmetic</td><td>none</td><td>-</td><td>false</td><td>false</td></tr>
 * <tr><td>ties</td><td>magnitude</td><td>sum</td><td>true</td><td>false</td></tr>
 * <tr><td>dare_linear</td><td>random</td><td>-</td><td>false</td><td>true</td></tr>
 * <tr><td>dare_ties</td><td>random</td><td>sum</td><td>false</td><td>true</td></tr>
 * <tr><td>breadcrumbs</td><td>magnitude_outliers</td><td>-</td><td>false</td><td>false</td></tr>
 * <tr><td>breadcrumbs_ties</td><td>magnitude_outliers</td><td>sum</td><td>false</td><td>false</td></tr>
 * <tr><td>della</td><td>della_magprune</td><td>sum</td><td>true</td><td>true</td></tr>
 * <tr><td>della_linear</td><td>della_magprune</td><td>-</td><td>false</td><td>true</td></tr>
 * </table>
 */
public final class MergeMethods {
    public static final MergeMethod LINEAR = new Linear();
    public static final MergeMethod TASK_ARITHMETIC =
            new GeneralizedTaskArithmetic("task_arithmetic", Sparsifier.NONE, null, false, false);
    public static final MergeMethod TIES =
            new GeneralizedTaskArithmetic("ties", Sparsifier.MAGNITUDE, Consensus.SUM, true, false);
    public static final MergeMethod DARE_LINEAR =
            new GeneralizedTaskArithmetic("dare_linear", Sparsifier.RANDOM, null, false, true);
    public static final MergeMethod DARE_TIES =
            new GeneralizedTaskArithmetic("dare_ties", Sparsifier.RANDOM, Consensus.SUM, false, true);
    public static final MergeMethod BREADCRUMBS =
            new GeneralizedTaskArithmetic("breadcrumbs", Sparsifier.MAGNITUDE_OUTLIERS, null, false, false);
    public static final MergeMethod BREADCRUMBS_TIES =
            new GeneralizedTaskArithmetic("breadcrumbs_ties", Sparsifier.MAGNITUDE_OUTLIERS, Consensus.SUM,
                    false, false);
    public static final MergeMethod DELLA =
            new GeneralizedTaskArithmetic("della", Sparsifier.DELLA_MAGPRUNE, Consensus.SUM, true, true);
    public static final MergeMethod DELLA_LINEAR =
            new GeneralizedTaskArithmetic("della_linear", Sparsifier.DELLA_MAGPRUNE, null, false, true);
    public static final MergeMethod SLERP = new Slerp();
    public static final MergeMethod MODEL_STOCK = new ModelStock();
    public static final MergeMethod SAFETY_VECTOR = new SafetyVector();
    public static final MergeMethod SAFE_LORA = new SafeLora();

    private static final List<MergeMethod> ALL = List.of(LINEAR, TASK_ARITHMETIC, TIES, DARE_LINEAR, DARE_TIES,
            BREADCRUMBS, BREADCRUMBS_TIES, DELLA, DELLA_LINEAR, SLERP, MODEL_STOCK, SAFETY_VECTOR, SAFE_LORA);
    private static final Map<String, MergeMethod> BY_NAME = index();
    private static final SortedSet<String> PARAMETER_NAMES = parameterIndex();

    private MergeMethods() {}

    /**
     * The method called {@code name} (case-insensitive; {@code -} reads as {@code _}, so the proto enum's
     * {@code DARE_TIES} and mergekit's {@code dare_ties} both work).
     *
     * @throws IllegalArgumentException listing the known names when there is no such method
     */
    public static MergeMethod byName(String name) {
        MergeMethod m = name == null ? null : BY_NAME.get(name.strip().toLowerCase(Locale.ROOT).replace('-', '_'));
        if (m == null) {
            throw new IllegalArgumentException("unknown merge method '" + name + "' (known: "
                    + String.join(", ", BY_NAME.keySet()) + ")");
        }
        return m;
    }

    /** Every method, in a stable order (linear first). */
    public static List<MergeMethod> all() {
        return ALL;
    }

    /** The names of every parameter some method declares, sorted. */
    public static SortedSet<String> parameterNames() {
        return PARAMETER_NAMES;
    }

    private static Map<String, MergeMethod> index() {
        Map<String, MergeMethod> m = new LinkedHashMap<>();
        for (MergeMethod method : ALL) {
            if (m.put(method.name(), method) != null) {
                throw new IllegalStateException("two merge methods named " + method.name());
            }
        }
        return m;
    }

    private static SortedSet<String> parameterIndex() {
        TreeSet<String> names = new TreeSet<>();
        for (MergeMethod method : ALL) {
            for (ParameterSpec spec : method.parameters()) {
                names.add(spec.name());
            }
        }
        return java.util.Collections.unmodifiableSortedSet(names);
    }
}
