package dev.realign.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The comparison on the shipped family, at a few prompts per set (the README's table uses 120): every method
 * yields a row for both fine-tunes, grid methods pick by the refusal floor, and the table renders them all.
 */
class RealignmentComparisonTest {
    private static final Path FAMILY = Path.of("demo");

    @Test
    void everyMethodIsScoredOnBothFineTunesAndTabulated() {
        // one setting per grid keeps the test to ~20 generations per set
        var options = new RealignmentComparison.Options(6, 12, 8, 2, 0.85, List.of(0.3), List.of(1.0), List.of(0.5));
        List<RealignmentComparison.Row> rows = new RealignmentComparison(FAMILY, options).run(r -> {});

        List<String> methods = List.of("fine-tuned", "best linear", "RESTA (safety vector)", "Safe LoRA", "IRR",
                "IRR without recalibration", "SOMF");
        assertThat(rows.getFirst().method()).isEqualTo("aligned");
        // The full fine-tune also moved embeddings, norms and biases: its projections alone are scored too.
        List<String> full = new ArrayList<>(methods);
        full.add(1, "fine-tuned, projections only");
        assertThat(rows.stream().filter(r -> r.fineTune().equals(DemoFamilyBuilder.TASK_FULL))
                .map(RealignmentComparison.Row::method)).containsExactlyElementsOf(full);
        assertThat(rows.stream().filter(r -> r.fineTune().equals(DemoFamilyBuilder.TASK_LORA))
                .map(RealignmentComparison.Row::method)).containsExactlyElementsOf(methods);
        assertThat(rows).hasSize(1 + full.size() + methods.size());
        assertThat(rows.get(1).note()).contains("delta", "safety vector").doesNotContain("|");
        for (RealignmentComparison.Row r : rows) {
            assertThat(List.of(r.scores().harmfulRefusal(), r.scores().benignRefusal(), r.scores().taskAccuracy()))
                    .allSatisfy(v -> assertThat(v).isBetween(0.0, 1.0));
            if (r.method().equals("best linear")) {
                assertThat(r.setting()).isEqualTo("ratio 0.3");
                // picked at the floor, or the note says no ratio reaches it
                assertThat(r.scores().harmfulRefusal() >= options.floor() || r.note().contains("none refuses"))
                        .isTrue();
            }
        }
        assertThat(rows.stream().filter(r -> r.method().equals("SOMF")))
                .allSatisfy(r -> assertThat(r.note()).startsWith("mask density "));

        String table = RealignmentComparison.markdown(rows);
        assertThat(table.lines()).hasSize(2 + rows.size());
        assertThat(table).contains("| task-full | fine-tuned |  |").contains("| task-lora | SOMF | 2 steps |");
    }

    @Test
    void optionsAreChecked() {
        List<Double> one = List.of(1.0);
        assertThatThrownBy(() -> new RealignmentComparison.Options(0, 1, 1, 1, 0.5, one, one, one))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RealignmentComparison.Options(1, 1, 1, 1, 1.5, one, one, one))
                .hasMessageContaining("floor");
        assertThatThrownBy(() -> new RealignmentComparison.Options(1, 1, 1, 1, 0.5, List.of(), one, one))
                .hasMessageContaining("ratios");
    }
}
