package dev.realign.merge.methods;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MergeParametersTest {

    @Test
    void resolveFillsDefaultsAndIsCanonical() {
        Map<String, Object> implicit = MergeParameters.DEFAULTS.resolve(MergeMethods.TIES);
        Map<String, Object> explicit = MergeParameters.DEFAULTS.withLambda(1).withNormalize(true)
                .withMajoritySign(Consensus.SUM).resolve(MergeMethods.TIES);
        assertThat(implicit).containsExactly(entry("int8_mask", false), entry("lambda", 1.0),
                entry("majority_sign", "sum"), entry("normalize", true), entry("rescale", false));
        assertThat(explicit).isEqualTo(implicit);
    }

    @Test
    void valuesFromYamlAreNormalized() {
        MergeParameters p = MergeParameters.of(Map.of("lambda", 1, "seed", 7, "majority_sign", " COUNT ",
                "rescale", true));
        assertThat(p.values()).containsExactly(entry("lambda", 1L), entry("majority_sign", "count"),
                entry("rescale", true), entry("seed", 7L));
        Map<String, Object> r = p.resolve(MergeMethods.DARE_TIES);
        assertThat(r).containsEntry("lambda", 1.0).containsEntry("seed", 7L).containsEntry("majority_sign", "count");
        assertThat(p.without("seed").resolve(MergeMethods.DARE_TIES)).containsEntry("seed", 0L);
    }

    @Test
    void everyMethodDeclaresItsParametersWithValidDefaults() {
        for (MergeMethod method : MergeMethods.all()) {
            assertThat(MergeMethods.byName(method.name())).isSameAs(method);
            assertThat(method.description()).isNotBlank();
            assertThat(method.minAdapters()).isBetween(1, method.maxAdapters());
            // the defaults themselves pass validation
            assertThat(MergeParameters.DEFAULTS.resolve(method)).hasSize(method.parameters().size());
            for (ParameterSpec spec : method.parameters()) {
                assertThat(spec.description()).isNotBlank();
                if (spec.type() == ParameterSpec.Type.REAL) {
                    assertThat(spec.accepts(spec.defaultValue())).as(spec.name()).isTrue();
                }
            }
        }
    }

    @Test
    void specsRenderForHelpTexts() {
        ParameterSpec gamma = MergeMethods.BREADCRUMBS.parameters().stream()
                .filter(s -> s.name().equals("gamma")).findFirst().orElseThrow();
        assertThat(gamma.defaultText()).isEqualTo("0.01");
        assertThat(gamma.rangeText()).isEqualTo("[0, 1)");
        ParameterSpec sign = MergeMethods.DARE_TIES.parameters().stream()
                .filter(s -> s.name().equals("majority_sign")).findFirst().orElseThrow();
        assertThat(sign.defaultText()).isEqualTo("sum");
        assertThat(sign.rangeText()).isEqualTo("sum|count");
        ParameterSpec lambda = MergeMethods.TIES.parameters().get(0);
        assertThat(lambda.rangeText()).isEqualTo("(-inf, inf)");
        assertThat(MergeMethods.parameterNames()).containsExactly("epsilon", "filter_wise", "gamma", "int8_mask",
                "lambda", "majority_sign", "normalize", "rescale", "seed", "t", "threshold");
    }

    @Test
    void registryDefaultsFollowMergekit() {
        record Row(String name, Sparsifier sparsifier, Consensus consensus, boolean normalize, boolean rescale) {}
        List<Row> table = List.of(
                new Row("task_arithmetic", Sparsifier.NONE, null, false, false),
                new Row("ties", Sparsifier.MAGNITUDE, Consensus.SUM, true, false),
                new Row("dare_linear", Sparsifier.RANDOM, null, false, true),
                new Row("dare_ties", Sparsifier.RANDOM, Consensus.SUM, false, true),
                new Row("breadcrumbs", Sparsifier.MAGNITUDE_OUTLIERS, null, false, false),
                new Row("breadcrumbs_ties", Sparsifier.MAGNITUDE_OUTLIERS, Consensus.SUM, false, false),
                new Row("della", Sparsifier.DELLA_MAGPRUNE, Consensus.SUM, true, true),
                new Row("della_linear", Sparsifier.DELLA_MAGPRUNE, null, false, true));
        for (Row row : table) {
            GeneralizedTaskArithmetic m = (GeneralizedTaskArithmetic) MergeMethods.byName(row.name());
            assertThat(new Row(m.name(), m.sparsifier(), m.consensus(), m.defaultNormalize(), m.defaultRescale()))
                    .isEqualTo(row);
        }
    }
}
