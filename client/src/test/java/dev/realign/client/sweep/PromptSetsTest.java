package dev.realign.client.sweep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.PromptSet;
import org.junit.jupiter.api.Test;

class PromptSetsTest {

    @Test
    void aNameIsABuiltinSet() {
        PromptSet set = PromptSets.of("demo-harmful", null, 50);

        assertThat(set.getSourceCase()).isEqualTo(PromptSet.SourceCase.BUILTIN);
        assertThat(set.getBuiltin()).isEqualTo("demo-harmful");
        assertThat(set.getLimit()).isEqualTo(50);
        assertThat(set.getFormat()).isEmpty();
    }

    @Test
    void aSeparatorOrAnExtensionMakesAPath() {
        assertThat(PromptSets.of("sets/harmful", null, 0).getPath()).isEqualTo("sets/harmful");
        assertThat(PromptSets.of("harmful.jsonl", null, 0).getPath()).isEqualTo("harmful.jsonl");
        assertThat(PromptSets.of("advbench.csv", "advbench", 0).getPath()).isEqualTo("advbench.csv");
        assertThat(PromptSets.of("C:\\sets\\x", null, 0).getSourceCase()).isEqualTo(PromptSet.SourceCase.PATH);
    }

    @Test
    void theFormatIsSentOnlyWhenGiven() {
        assertThat(PromptSets.of("harmful.csv", " harmbench ", 0).getFormat()).isEqualTo("harmbench");
        assertThat(PromptSets.of("harmful.csv", "", 0).getFormat()).isEmpty();
    }

    @Test
    void anEmptySetIsRejected() {
        assertThatThrownBy(() -> PromptSets.of("  ", null, 0)).hasMessageContaining("builtin name or a file path");
    }
}
