package dev.realign.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFolderTest {
    @TempDir
    Path dir;

    private void write(String fileName, String tensor) {
        SafetensorsWriter.write(dir.resolve(fileName),
                new LinkedHashMap<>(Map.of(tensor, TensorData.ofFloats(new float[] {1f}, 1))));
    }

    @Test
    void prefersTheIndex() throws IOException {
        write("model-00001-of-00001.safetensors", "sharded");
        write("model.safetensors", "single");
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"sharded\": \"model-00001-of-00001.safetensors\"}}");
        try (WeightSource source = Checkpoints.openFolder(dir)) {
            assertThat(source).isInstanceOf(ShardedCheckpoint.class);
            assertThat(source.names()).containsExactly("sharded");
        }
    }

    @Test
    void thenModelSafetensors() {
        write("model.safetensors", "single");
        write("other.safetensors", "other");
        try (WeightSource source = Checkpoints.openFolder(dir)) {
            assertThat(source.path()).hasFileName("model.safetensors");
            assertThat(source.names()).containsExactly("single");
        }
    }

    @Test
    void thenTheOnlySafetensorsFile() throws IOException {
        write("adapter_model.safetensors", "lora_A");
        Files.writeString(dir.resolve("config.json"), "{}");
        try (WeightSource source = Checkpoints.openFolder(dir)) {
            assertThat(source.path()).hasFileName("adapter_model.safetensors");
        }
    }

    @Test
    void severalFilesWithoutAnIndexAreAmbiguous() {
        write("a.safetensors", "a");
        write("b.safetensors", "b");
        assertThatThrownBy(() -> Checkpoints.openFolder(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.toString()).hasMessageContaining("a.safetensors, b.safetensors");
    }

    @Test
    void noWeightsAtAll() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        assertThatThrownBy(() -> Checkpoints.openFolder(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.toString()).hasMessageContaining("holds no model.safetensors.index.json");
        assertThatThrownBy(() -> Checkpoints.openFolder(dir.resolve("config.json")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("config.json: is not a folder");
        assertThatThrownBy(() -> Checkpoints.openFolder(dir.resolve("absent")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("absent: no such folder");
    }
}
