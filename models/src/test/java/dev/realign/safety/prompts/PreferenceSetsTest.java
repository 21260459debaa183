package dev.realign.safety.prompts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreferenceSetsTest {
    @TempDir
    Path dir;

    private Path file(String text) throws Exception {
        Path f = dir.resolve("pairs.jsonl");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void readsPromptChosenAndRejectedWithTheirLines() throws Exception {
        List<PreferenceExample> pairs = PreferenceSets.load(file("""
                {"prompt": "p1", "chosen": "no", "rejected": "yes", "extra": 1}

                {"prompt": "p2", "chosen": "I can't.", "rejected": "Sure."}
                """));
        assertThat(pairs).containsExactly(new PreferenceExample("p1", "no", "yes", 1),
                new PreferenceExample("p2", "I can't.", "Sure.", 3));
        assertThat(PromptSets.spread(pairs, 1)).containsExactly(pairs.getFirst());
        assertThat(PromptSets.spread(pairs, 0)).isEqualTo(pairs);
    }

    @Test
    void everyProblemNamesTheFileAndLine() throws Exception {
        assertThatThrownBy(() -> PreferenceSets.load(file("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n"
                + "{\"prompt\": \"p\", \"chosen\": \"a\"}\n")))
                .isInstanceOf(PromptSetException.class).hasMessageContaining("pairs.jsonl line 2")
                .hasMessageContaining("'rejected'");
        assertThatThrownBy(() -> PreferenceSets.load(file("{\"prompt\": \"p\", \"chosen\": 3, \"rejected\": \"b\"}\n")))
                .hasMessageContaining("line 1").hasMessageContaining("'chosen' must be a string");
        assertThatThrownBy(() -> PreferenceSets.load(file("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"a\"}")))
                .hasMessageContaining("line 1").hasMessageContaining("same answer");
        assertThatThrownBy(() -> PreferenceSets.load(file("[1]\n"))).hasMessageContaining("line 1")
                .hasMessageContaining("JSON object");
        assertThatThrownBy(() -> PreferenceSets.load(file("{\"prompt\": \n"))).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> PreferenceSets.load(file("\n\n"))).hasMessageContaining("no preference pairs");
        assertThatThrownBy(() -> PreferenceSets.load(dir.resolve("nope.jsonl"))).hasMessageContaining("no such file");
    }
}
