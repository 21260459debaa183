package dev.realign.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GGUF v3 container, read back with the independent {@link GgufReader}. */
class GgufWriterTest {
    @TempDir
    Path dir;

    private static ByteBuffer floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b;
    }

    @Test
    void writesHeaderMetadataOfEveryTypeAndAlignedTensors() {
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("unicode", "Grüße 東京 🙂")
                .putUInt32("u32", 4_000_000_000L)
                .putInt32("i32", -7)
                .putUInt64("u64", 1L << 40)
                .putFloat32("f32", 1e-5f)
                .putFloat64("f64", Math.PI)
                .putBool("yes", true)
                .putBool("no", false)
                .putStringArray("strings", List.of("a", "", "Ġthe"))
                .putInt32Array("ints", new int[] {1, -2, 3})
                .putUInt32Array("uints", new int[] {0, 5})
                .putFloat32Array("floats", new float[] {0.5f, -1f});
        // 3 x 5 floats = 60 bytes: not a multiple of 32, so the next tensor's offset must be padded to 64.
        float[] matrix = new float[15];
        for (int i = 0; i < matrix.length; i++) {
            matrix[i] = i;
        }
        w.addTensor("m.weight", GgufWriter.TensorType.F32, new long[] {3, 5}, () -> floats(matrix));
        ByteBuffer half = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN);
        half.putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-2f)).putShort(Float.floatToFloat16(0.25f)).flip();
        w.addTensor("v", GgufWriter.TensorType.F16, new long[] {3}, () -> half);
        Path file = dir.resolve("t.gguf");
        long size = w.write(file);

        GgufReader r = GgufReader.read(file);
        assertThat(r.version).isEqualTo(3);
        assertThat(r.fileSize()).isEqualTo(size);
        assertThat(r.<String>get("general.architecture")).isEqualTo("llama");
        assertThat(r.<String>get("unicode")).isEqualTo("Grüße 東京 🙂");
        assertThat(r.<Long>get("u32")).isEqualTo(4_000_000_000L);
        assertThat(r.<Long>get("i32")).isEqualTo(-7L);
        assertThat(r.<Long>get("u64")).isEqualTo(1L << 40);
        assertThat(r.<Float>get("f32")).isEqualTo(1e-5f);
        assertThat(r.<Double>get("f64")).isEqualTo(Math.PI);
        assertThat(r.<Boolean>get("yes")).isTrue();
        assertThat(r.<Boolean>get("no")).isFalse();
        assertThat(r.<List<Object>>get("strings")).containsExactly("a", "", "Ġthe");
        assertThat(r.<List<Object>>get("ints")).containsExactly(1L, -2L, 3L);
        assertThat(r.<List<Object>>get("uints")).containsExactly(0L, 5L);
        assertThat(r.<List<Object>>get("floats")).containsExactly(0.5f, -1f);
        assertThat(r.valueTypes.get("u32")).isEqualTo(4);
        assertThat(r.valueTypes.get("i32")).isEqualTo(5);
        assertThat(r.valueTypes.get("f32")).isEqualTo(6);
        assertThat(r.<Long>get("general.alignment")).isEqualTo(32L);
        assertThat(r.dataStart % 32).isZero();

        GgufReader.TensorEntry m = r.tensors.get("m.weight");
        assertThat(m.ne()).containsExactly(5, 3); // innermost first
        assertThat(m.type()).isZero();
        assertThat(m.offset()).isZero();
        assertThat(r.floats("m.weight")).containsExactly(matrix);
        GgufReader.TensorEntry v = r.tensors.get("v");
        assertThat(v.offset()).isEqualTo(64);
        assertThat(v.type()).isEqualTo(1);
        assertThat(r.floats("v")).containsExactly(1.5f, -2f, 0.25f);
        assertThat(size % 32).isZero();
    }

    @Test
    void rejectsWhatGgmlCannotHold() {
        GgufWriter w = new GgufWriter();
        assertThatThrownBy(() -> w.addTensor("x".repeat(64), GgufWriter.TensorType.F32, new long[] {1}, () -> floats(0)))
                .hasMessageContaining("63");
        assertThatThrownBy(() -> w.addTensor("t", GgufWriter.TensorType.F32, new long[] {1, 1, 1, 1, 1}, () -> floats(0)))
                .hasMessageContaining("dimensions");
        assertThatThrownBy(() -> w.addTensor("t", GgufWriter.TensorType.F32, new long[] {0}, () -> floats()))
                .hasMessageContaining("positive");
        w.addTensor("t", GgufWriter.TensorType.F32, new long[] {1}, () -> floats(0));
        assertThatThrownBy(() -> w.addTensor("t", GgufWriter.TensorType.F32, new long[] {1}, () -> floats(0)))
                .hasMessageContaining("twice");
        w.putUInt32("k", 1);
        assertThatThrownBy(() -> w.putUInt32("k", 2)).hasMessageContaining("twice");
        assertThatThrownBy(() -> w.putUInt32("neg", -1)).hasMessageContaining("uint32");
        assertThatThrownBy(() -> w.putString("general.alignment", "64")).hasMessageContaining("alignment");
        assertThatThrownBy(() -> w.putString("kéy", "v")).hasMessageContaining("ASCII");
    }

    @Test
    void aFailingPayloadLeavesNoFile() throws Exception {
        Path file = dir.resolve("broken.gguf");
        Files.writeString(file, "previous");
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
        w.addTensor("a", GgufWriter.TensorType.F32, new long[] {2}, () -> floats(1, 2));
        w.addTensor("b", GgufWriter.TensorType.F32, new long[] {2}, () -> floats(1)); // one value short
        assertThatThrownBy(() -> w.write(file)).hasMessageContaining("'b'").hasMessageContaining("8 bytes");
        assertThat(Files.readString(file)).isEqualTo("previous");
        assertThat(dir.resolve("broken.gguf.tmp")).doesNotExist();
    }
}
