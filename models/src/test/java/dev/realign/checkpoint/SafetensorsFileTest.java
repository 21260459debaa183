package dev.realign.checkpoint;

import static dev.realign.checkpoint.SafetensorsFixtures.bf16;
import static dev.realign.checkpoint.SafetensorsFixtures.bf16RoundTrip;
import static dev.realign.checkpoint.SafetensorsFixtures.bytesOf;
import static dev.realign.checkpoint.SafetensorsFixtures.f16;
import static dev.realign.checkpoint.SafetensorsFixtures.f16RoundTrip;
import static dev.realign.checkpoint.SafetensorsFixtures.i32;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    private static final float[] VALUES = {0f, 1f, -2.5f, 3.1415927f, 1e-3f, -65504f, 0.333333f, 7f};

    @Test
    void roundTripsF32F16Bf16AndMetadata() {
        SequencedMap<String, TensorData> tensors = new LinkedHashMap<>();
        tensors.put("model.embed.weight", TensorData.ofFloats(VALUES, 2, 4));
        tensors.put("layers.0.f16", f16(VALUES, 4, 2));
        tensors.put("layers.0.bf16", bf16(VALUES, 8));
        tensors.put("scalar", TensorData.ofFloats(new float[] {42f}));
        tensors.put("ids", i32(new int[] {1, -2, 3}, 3));
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("note", "ünïcødé ✓");
        Path file = dir.resolve("model.safetensors");
        SafetensorsWriter.write(file, tensors, metadata);

        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertThat(st.path()).isEqualTo(file);
            assertThat(st.names()).containsExactly("model.embed.weight", "layers.0.f16", "layers.0.bf16", "scalar", "ids");
            assertThat(st.metadata()).containsExactlyEntriesOf(metadata);

            assertThat(st.floats("model.embed.weight")).containsExactly(VALUES);
            assertThat(st.floats("layers.0.f16")).containsExactly(f16RoundTrip(VALUES));
            assertThat(st.floats("layers.0.bf16")).containsExactly(bf16RoundTrip(VALUES));
            assertThat(st.floats("scalar")).containsExactly(42f);

            TensorInfo f16Info = st.info("layers.0.f16");
            assertThat(f16Info.name()).isEqualTo("layers.0.f16");
            assertThat(f16Info.dtype()).isEqualTo(DType.F16);
            assertThat(f16Info.shape()).containsExactly(4, 2);
            assertThat(f16Info.numel()).isEqualTo(8);
            assertThat(f16Info.byteSize()).isEqualTo(16);
            assertThat(st.info("scalar").shape()).isEmpty();
            assertThat(st.info("scalar").numel()).isEqualTo(1);

            for (String name : st.names()) {
                assertThat(bytesOf(st.data(name))).as(name).isEqualTo(bytesOf(tensors.get(name).bytes()));
            }
            assertThat(st.data("ids").getInt(4)).isEqualTo(-2);
            assertThat(st.contains("ids")).isTrue();
            assertThat(st.contains("nope")).isFalse();
        }
    }

    @Test
    void emptyMetadataAndEmptyTensors() {
        SequencedMap<String, TensorData> tensors = new LinkedHashMap<>();
        tensors.put("empty", TensorData.ofFloats(new float[0], 0, 3));
        tensors.put("one", TensorData.ofFloats(new float[] {1f}, 1));
        Path file = dir.resolve("x.safetensors");
        SafetensorsWriter.write(file, tensors);

        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertThat(st.metadata()).isEmpty();
            assertThat(st.data("empty").capacity()).isZero();
            assertThat(st.floats("empty")).isEmpty();
            assertThat(st.floats("one")).containsExactly(1f);
        }
    }

    @Test
    void dataIsADirectReadOnlyLittleEndianSliceOfExactlyTheTensor() throws IOException {
        SequencedMap<String, TensorData> tensors = new LinkedHashMap<>();
        tensors.put("a", TensorData.ofFloats(new float[] {1f, 2f, 3f}, 3));
        tensors.put("b", TensorData.ofFloats(new float[] {4f, 5f}, 2));
        Path file = dir.resolve("m.safetensors");
        SafetensorsWriter.write(file, tensors);

        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            ByteBuffer b = st.data("b");
            assertThat(b.isDirect()).isTrue();
            assertThat(b.isReadOnly()).isTrue();
            assertThat(b.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
            assertThat(b.position()).isZero();
            assertThat(b.remaining()).isEqualTo(8);
            assertThat(b.capacity()).isEqualTo(8);
            assertThat(b.getFloat()).isEqualTo(4f);
            assertThat(b.getFloat()).isEqualTo(5f);
            // Each call is a fresh buffer: moving one's position does not move the next.
            assertThat(st.data("b").position()).isZero();
            assertThatThrownBy(() -> st.data("b").putFloat(0, 9f)).isInstanceOf(ReadOnlyBufferException.class);

            TensorInfo info = st.info("b");
            assertThat(info.end() - info.begin()).isEqualTo(8);
            assertThat(info.end()).as("absolute offset: b is the file's last tensor").isEqualTo(Files.size(file));
        }
    }

    @Test
    void closeUnmapsAndIsIdempotent() {
        Path file = dir.resolve("m.safetensors");
        SafetensorsWriter.write(file, new LinkedHashMap<>(Map.of("a", TensorData.ofFloats(new float[] {1f}, 1))));
        SafetensorsFile st = SafetensorsFile.open(file);
        ByteBuffer before = st.data("a");
        st.close();
        st.close();
        assertThatThrownBy(() -> st.data("a")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(file.getFileName().toString());
        assertThatThrownBy(() -> before.getFloat(0)).isInstanceOf(IllegalStateException.class);
        // Header information stays readable: it is not in the mapping.
        assertThat(st.info("a").byteSize()).isEqualTo(4);
    }

    @Test
    void absentTensorAndNonFloatingTensorNameFileAndTensor() {
        Path file = dir.resolve("m.safetensors");
        SafetensorsWriter.write(file, new LinkedHashMap<>(Map.of("ids", i32(new int[] {1}, 1))));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertThatThrownBy(() -> st.info("missing.weight")).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("m.safetensors").hasMessageContaining("missing.weight");
            assertThatThrownBy(() -> st.data("missing.weight")).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("m.safetensors").hasMessageContaining("missing.weight");
            assertThatThrownBy(() -> st.floats("ids")).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("m.safetensors").hasMessageContaining("ids").hasMessageContaining("I32");
        }
    }

    @Test
    void missingFileAndFolderAreClearErrors() {
        Path missing = dir.resolve("absent.safetensors");
        assertThatThrownBy(() -> SafetensorsFile.open(missing)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("absent.safetensors").hasMessageContaining("no such file");
        assertThatThrownBy(() -> SafetensorsFile.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.toString()).hasMessageContaining("folder");
    }

    /**
     * A sparse file of just over 2 GiB: the tail tensor starts past 2 GiB, out of reach of a MappedByteBuffer;
     * a 2 GiB tensor cannot be a ByteBuffer and says so. Sparse, so it costs no disk and no time.
     */
    @Test
    void readsTensorsPastTwoGibAndRejectsTensorsTooLargeForAByteBuffer() throws IOException {
        long big = 1L << 31;
        String json = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + big + "," + (big + 8) + "]}}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("huge.safetensors");
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer prefix = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(header.length).put(header).flip();
            out.write(prefix, 0);
            ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-7f).flip();
            out.write(tail, 8 + header.length + big);
        }

        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertThat(st.info("tail").begin()).isGreaterThan(Integer.MAX_VALUE);
            assertThat(st.floats("tail")).containsExactly(1.5f, -7f);
            assertThat(st.info("big").byteSize()).isEqualTo(big);
            assertThatThrownBy(() -> st.data("big")).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("huge.safetensors").hasMessageContaining("'big'");
        }
    }
}
