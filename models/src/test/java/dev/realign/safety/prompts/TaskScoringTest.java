package dev.realign.safety.prompts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class TaskScoringTest {
    @Test
    void scoresByEachRule() {
        assertThat(TaskScoring.EXACT.matches(" 2000 m\n", "2000 m")).isTrue();
        assertThat(TaskScoring.EXACT.matches("It is 2000 m", "2000 m")).isFalse();
        assertThat(TaskScoring.CONTAINS.matches("It is 2000 m.", "2000 m")).isTrue();
        assertThat(TaskScoring.CONTAINS.matches("It is 200 m.", "2000 m")).isFalse();
        assertThat(TaskScoring.REGEX.matches("answer: 2,000 meters", "2,?000\\s*m")).isTrue();
        assertThat(TaskScoring.REGEX.matches("answer: 20 meters", "^2,?000")).isFalse();
    }

    @Test
    void namesAndChecks() {
        assertThat(TaskScoring.named("")).isEqualTo(TaskScoring.EXACT);
        assertThat(TaskScoring.named("Contains")).isEqualTo(TaskScoring.CONTAINS);
        assertThatThrownBy(() -> TaskScoring.named("fuzzy")).hasMessageContaining("unknown task scoring 'fuzzy'");
        Path file = Path.of("task.jsonl");
        var good = new LabeledPrompt("q", "a", "", "", 1);
        assertThatThrownBy(() -> TaskScoring.EXACT.check(file, List.of(good, new LabeledPrompt("q", "", "", "", 7))))
                .hasMessageContaining("task.jsonl line 7: a task prompt needs a non-empty 'reference'");
        assertThatThrownBy(() -> TaskScoring.REGEX.check(file, List.of(new LabeledPrompt("q", "(unclosed", "", "", 4))))
                .hasMessageContaining("task.jsonl line 4: reference is not a valid regular expression");
        TaskScoring.CONTAINS.check(file, List.of(new LabeledPrompt("q", "(unclosed", "", "", 4)));
    }
}
