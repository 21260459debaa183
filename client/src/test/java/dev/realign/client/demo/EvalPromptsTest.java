package dev.realign.client.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalPromptsTest {
    @TempDir
    Path dir;

    @Test
    void readsJsonlSkippingBlankLines() throws Exception {
        Path file = dir.resolve("set.jsonl");
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            text.append("{\"prompt\": \"p").append(i).append("\", \"reference\": \"r").append(i).append("\", \"category\": \"c\"}\n");
        }
        text.append("\n");
        Files.writeString(file, text);
        List<EvalPrompt> prompts = EvalPrompts.read(file);
        assertThat(prompts).hasSize(10).first().isEqualTo(new EvalPrompt("p0", "r0"));
        assertThat(prompts.getLast()).isEqualTo(new EvalPrompt("p9", "r9"));
    }

    @Test
    void namesTheFileAndLineOfAMalformedEntry() throws Exception {
        Path file = dir.resolve("bad.jsonl");
        Files.writeString(file, "{\"prompt\": \"a\", \"reference\": \"b\"}\n{\"prompt\": 3, \"reference\": \"b\"}\n");
        assertThatThrownBy(() -> EvalPrompts.read(file)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad.jsonl line 2").hasMessageContaining("'prompt'");
        Files.writeString(file, "{\"prompt\": \"a\"\n");
        assertThatThrownBy(() -> EvalPrompts.read(file)).hasMessageContaining("line 1");
    }
}
