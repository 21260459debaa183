package dev.realign.checkpoint;

import static dev.realign.checkpoint.SafetensorsFixtures.bf16;
import static dev.realign.checkpoint.SafetensorsFixtures.bf16RoundTrip;
import static dev.realign.checkpoint.SafetensorsFixtures.bytesOf;
import static dev.realign.checkpoint.SafetensorsFixtures.f16;
import static dev.realign.checkpoint.SafetensorsFixtures.f16RoundTrip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsShardedTest {
    @TempDir
    Path root;

    private Path model;
    private Path index;

    private static final float[] A = {1f, 2f, 3f, 4f, 5f, 6f};
    private static final float[] B = {-1f, 0.5f, 0.25f, 1e4f};
    private static final float[] C = {3.25f, -8f};

    /** Three shards as Hugging Face lays them out; the index is written per test. */
    @BeforeEach
    void writeShards() throws IOException {
        model = Files.createDirectory(root.resolve("model"));
        index = model.resolve("model.safetensors.index.json");
        SequencedMap<String, TensorData> first = new LinkedHashMap<>();
        first.put("embed.weight", TensorData.ofFloats(A, 3, 2));
        first.put("layers.0.norm", TensorData.ofFloats(C, 2));
        SafetensorsWriter.write(model.resolve("model-00001-of-00003.safetensors"), first, Map.of("format", "pt"));
        SafetensorsWriter.write(model.resolve("model-00002-of-00003.safetensors"),
                new LinkedHashMap<>(Map.of("layers.0.q.weight", bf16(B, 2, 2))));
        SafetensorsWriter.write(model.resolve("model-00003-of-00003.safetensors"),
                new LinkedHashMap<>(Map.of("lm_head.weight", f16(B, 4))));
    }

    private void writeIndex(String json) throws IOException {
        Files.writeString(index, json, StandardCharsets.UTF_8);
    }

    private static final String GOOD_MAP = """
            "weight_map": {
              "lm_head.weight": "model-00003-of-00003.safetensors",
              "embed.weight": "model-00001-of-00003.safetensors",
              "layers.0.q.weight": "model-00002-of-00003.safetensors",
              "layers.0.norm": "model-00001-of-00003.safetensors"
            }""";

    private AbstractThrowableAssert<?, ? extends Throwable> assertOpenFails(String fileName) {
        return assertThatThrownBy(() -> ShardedCheckpoint.open(index).close())
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(fileName);
    }

    @Test
    void roundTripsAcrossShards() throws IOException {
        writeIndex("{\"metadata\": {\"total_size\": 40, \"format\": \"pt\", \"extra\": {\"k\": [1]}},\n" + GOOD_MAP + "}");
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(index)) {
            assertThat(ckpt.path()).isEqualTo(index);
            assertThat(ckpt.names()).containsExactly("lm_head.weight", "embed.weight", "layers.0.q.weight", "layers.0.norm");
            assertThat(ckpt.metadata()).containsExactly(
                    Map.entry("total_size", "40"), Map.entry("format", "pt"), Map.entry("extra", "{\"k\":[1]}"));

            assertThat(ckpt.floats("embed.weight")).containsExactly(A);
            assertThat(ckpt.floats("layers.0.norm")).containsExactly(C);
            assertThat(ckpt.floats("layers.0.q.weight")).containsExactly(bf16RoundTrip(B));
            assertThat(ckpt.floats("lm_head.weight")).containsExactly(f16RoundTrip(B));
            assertThat(ckpt.info("layers.0.q.weight").shape()).containsExactly(2, 2);
            assertThat(ckpt.info("layers.0.q.weight").dtype()).isEqualTo(DType.BF16);
            assertThat(bytesOf(ckpt.data("lm_head.weight"))).isEqualTo(bytesOf(f16(B, 4).bytes()));
            assertThat(ckpt.shardPath("layers.0.norm")).hasFileName("model-00001-of-00003.safetensors");
            assertThat(ckpt.contains("embed.weight")).isTrue();
            assertThat(ckpt.contains("nope")).isFalse();
            assertThatThrownBy(() -> ckpt.info("nope")).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("model.safetensors.index.json").hasMessageContaining("'nope'");
        }
    }

    @Test
    void indexWithoutMetadataHasEmptyMetadata() throws IOException {
        writeIndex("{" + GOOD_MAP + "}");
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(index)) {
            assertThat(ckpt.metadata()).isEmpty();
        }
    }

    @Test
    void closeClosesEveryShard() throws IOException {
        writeIndex("{" + GOOD_MAP + "}");
        ShardedCheckpoint ckpt = ShardedCheckpoint.open(index);
        ByteBuffer[] buffers = ckpt.names().stream().map(ckpt::data).toArray(ByteBuffer[]::new);
        ckpt.close();
        ckpt.close();
        for (ByteBuffer buffer : buffers) {
            assertThatThrownBy(() -> buffer.get(0)).isInstanceOf(IllegalStateException.class);
        }
        assertThatThrownBy(() -> ckpt.data("embed.weight")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void missingShard() throws IOException {
        writeIndex("{\"weight_map\": {\"embed.weight\": \"model-00009-of-00009.safetensors\"}}");
        assertOpenFails("model.safetensors.index.json")
                .hasMessageContaining("model-00009-of-00009.safetensors")
                .hasMessageContaining("does not exist");
    }

    @Test
    void shardPathTraversalIsRefusedWithoutLookingAtTheFile() throws IOException {
        // The target exists (inside the temp dir): it is the name that is refused, not a missing file.
        Files.copy(model.resolve("model-00001-of-00003.safetensors"), root.resolve("x.safetensors"));
        writeIndex("{\"weight_map\": {\"embed.weight\": \"../x.safetensors\"}}");
        assertOpenFails("model.safetensors.index.json").hasMessageContaining("'embed.weight'")
                .hasMessageContaining("'../x.safetensors' is not a plain file name");

        for (String bad : new String[] {"..", ".", "", "sub/model.safetensors", "/etc/passwd", "a\\\\b.safetensors"}) {
            writeIndex("{\"weight_map\": {\"embed.weight\": \"" + bad + "\"}}");
            assertOpenFails("model.safetensors.index.json").as(bad).hasMessageContaining("is not a plain file name");
        }
    }

    @Test
    void tensorMissingFromItsShard() throws IOException {
        writeIndex("""
                {"weight_map": {
                  "embed.weight": "model-00001-of-00003.safetensors",
                  "layers.0.norm": "model-00001-of-00003.safetensors",
                  "layers.0.k.weight": "model-00002-of-00003.safetensors",
                  "layers.0.q.weight": "model-00002-of-00003.safetensors",
                  "lm_head.weight": "model-00003-of-00003.safetensors"}}""");
        assertOpenFails("model-00002-of-00003.safetensors").hasMessageContaining("'layers.0.k.weight'")
                .hasMessageContaining("absent");
    }

    @Test
    void tensorInAShardButMappedToAnotherIsAnError() throws IOException {
        // A second copy of embed.weight in shard 3: which one a model got would depend on the lookup.
        SequencedMap<String, TensorData> third = new LinkedHashMap<>();
        third.put("lm_head.weight", f16(B, 4));
        third.put("embed.weight", TensorData.ofFloats(A, 3, 2));
        SafetensorsWriter.write(model.resolve("model-00003-of-00003.safetensors"), third);
        writeIndex("{" + GOOD_MAP + "}");
        assertOpenFails("model-00003-of-00003.safetensors").hasMessageContaining("'embed.weight'")
                .hasMessageContaining("assigns it to 'model-00001-of-00003.safetensors'");
    }

    @Test
    void tensorInAShardButNotInTheMapIsAnError() throws IOException {
        writeIndex("""
                {"weight_map": {
                  "embed.weight": "model-00001-of-00003.safetensors",
                  "layers.0.q.weight": "model-00002-of-00003.safetensors",
                  "lm_head.weight": "model-00003-of-00003.safetensors"}}""");
        assertOpenFails("model-00001-of-00003.safetensors").hasMessageContaining("'layers.0.norm'")
                .hasMessageContaining("missing from the weight_map");
    }

    @Test
    void tensorListedTwiceInTheMap() throws IOException {
        writeIndex("""
                {"weight_map": {
                  "embed.weight": "model-00001-of-00003.safetensors",
                  "embed.weight": "model-00002-of-00003.safetensors"}}""");
        assertOpenFails("model.safetensors.index.json").hasMessageContaining("Duplicate field 'embed.weight'");
    }

    @Test
    void badShardIsReportedWithItsOwnName() throws IOException {
        SafetensorsFixtures.rawFile(model.resolve("model-00002-of-00003.safetensors"), "{\"x\": 1}", 0);
        writeIndex("{" + GOOD_MAP + "}");
        assertOpenFails("model-00002-of-00003.safetensors").hasMessageContaining("'x'");
    }

    @Test
    void malformedIndexes() throws IOException {
        String name = "model.safetensors.index.json";
        writeIndex("{\"weight_map\": ");
        assertOpenFails(name).hasMessageContaining("not valid JSON");
        writeIndex("[]");
        assertOpenFails(name).hasMessageContaining("not a JSON object");
        writeIndex("{\"metadata\": {}}");
        assertOpenFails(name).hasMessageContaining("no \"weight_map\"");
        writeIndex("{\"weight_map\": [\"model-00001-of-00003.safetensors\"]}");
        assertOpenFails(name).hasMessageContaining("\"weight_map\" is not a JSON object");
        writeIndex("{\"weight_map\": {}}");
        assertOpenFails(name).hasMessageContaining("\"weight_map\" is empty");
        writeIndex("{\"weight_map\": {\"embed.weight\": 1}}");
        assertOpenFails(name).hasMessageContaining("'embed.weight'").hasMessageContaining("not a file name");
        writeIndex("{\"metadata\": 3, " + GOOD_MAP + "}");
        assertOpenFails(name).hasMessageContaining("\"metadata\" is not a JSON object");
        Files.delete(index);
        assertOpenFails(name).hasMessageContaining("no such file");
    }
}
