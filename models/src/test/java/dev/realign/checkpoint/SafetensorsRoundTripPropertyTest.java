package dev.realign.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/** Whatever F32 tensors and metadata the writer writes, the reader gives back bit for bit, in order. */
class SafetensorsRoundTripPropertyTest {
    // jqwik does not support JUnit's @TempDir: one folder per container, one file per try.
    private static Path dir;

    @BeforeContainer
    static void createDir() throws IOException {
        dir = Files.createTempDirectory("realign-safetensors-props");
    }

    @AfterContainer
    static void deleteDir() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    record Tensor(String name, long[] shape, float[] values) {}

    @Provide
    Arbitrary<List<Tensor>> tensors() {
        Arbitrary<String> names = Arbitraries.strings().alpha().numeric().withChars('.', '_', 'ß', '→')
                .ofMinLength(1).ofMaxLength(24).filter(n -> !n.equals("__metadata__"));
        Arbitrary<long[]> shapes = Arbitraries.longs().between(0, 6).array(long[].class).ofMaxSize(4);
        Arbitrary<Tensor> tensor = Combinators.combine(names, shapes).flatAs((name, shape) -> Arbitraries.floats()
                .withSpecialValue(Float.NaN).withSpecialValue(Float.POSITIVE_INFINITY).withSpecialValue(-0f)
                .array(float[].class).ofSize((int) TensorData.numel(shape))
                .map(values -> new Tensor(name, shape, values)));
        return tensor.list().ofMaxSize(6).uniqueElements(Tensor::name);
    }

    @Provide
    Arbitrary<Map<String, String>> metadata() {
        return Arbitraries.maps(Arbitraries.strings().ofMinLength(1).ofMaxLength(10), Arbitraries.strings().ofMaxLength(30))
                .ofMaxSize(4);
    }

    @Property(tries = 150)
    void f32RoundTrip(@ForAll("tensors") List<Tensor> tensors, @ForAll("metadata") Map<String, String> metadata)
            throws IOException {
        SequencedMap<String, TensorData> written = new LinkedHashMap<>();
        for (Tensor t : tensors) {
            written.put(t.name(), TensorData.ofFloats(t.values(), t.shape()));
        }
        Path file = Files.createTempFile(dir, "t", ".safetensors");
        SafetensorsWriter.write(file, written, metadata);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertThat(st.names()).containsExactlyElementsOf(written.keySet());
            assertThat(st.metadata()).isEqualTo(metadata);
            for (Tensor t : tensors) {
                TensorInfo info = st.info(t.name());
                assertThat(info.dtype()).isEqualTo(DType.F32);
                assertThat(info.shape()).isEqualTo(t.shape());
                assertThat(info.byteSize()).isEqualTo(4L * t.values().length);
                assertThat(SafetensorsFixtures.bytesOf(st.data(t.name())))
                        .isEqualTo(SafetensorsFixtures.bytesOf(written.get(t.name()).bytes()));
                float[] read = st.floats(t.name());
                assertThat(read).hasSize(t.values().length);
                for (int i = 0; i < read.length; i++) {
                    assertThat(Float.floatToRawIntBits(read[i])).isEqualTo(Float.floatToRawIntBits(t.values()[i]));
                }
            }
        } finally {
            Files.delete(file);
        }
    }
}
