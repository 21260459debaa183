package dev.realign.checkpoint;

import static dev.realign.checkpoint.SafetensorsFixtures.rawFile;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every way a safetensors file can be broken fails in open, naming the file and, where one is at fault, the tensor. */
class SafetensorsMalformedTest {
    @TempDir
    Path dir;

    private AbstractThrowableAssert<?, ? extends Throwable> assertOpenFails(Path file) {
        return assertThatThrownBy(() -> SafetensorsFile.open(file).close())
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.getFileName().toString());
    }

    @Test
    void fileShorterThanTheLengthPrefix() {
        assertOpenFails(SafetensorsFixtures.write(dir.resolve("short.safetensors"), new byte[] {1, 0, 0, 0, 0}))
                .hasMessageContaining("shorter than the 8-byte header length");
        assertOpenFails(SafetensorsFixtures.write(dir.resolve("empty.safetensors"), new byte[0]))
                .hasMessageContaining("is 0 bytes");
    }

    @Test
    void headerLengthZero() {
        assertOpenFails(rawFile(dir.resolve("zero.safetensors"), 0, new byte[0], 16))
                .hasMessageContaining("header length is 0");
    }

    @Test
    void headerLengthAbsurdlyLarge() {
        byte[] header = "{}".getBytes(StandardCharsets.UTF_8);
        assertOpenFails(rawFile(dir.resolve("absurd.safetensors"), (100L << 20) + 1, header, 0))
                .hasMessageContaining("absurdly large");
        // As an unsigned 64-bit length this is 2^64 - 1; it must not pass as a negative number.
        assertOpenFails(rawFile(dir.resolve("negative.safetensors"), -1L, header, 0))
                .hasMessageContaining("18446744073709551615").hasMessageContaining("absurdly large");
    }

    @Test
    void headerLengthThatLiesPastTheEndOfTheFile() {
        byte[] header = "{}".getBytes(StandardCharsets.UTF_8);
        assertOpenFails(rawFile(dir.resolve("lying.safetensors"), 1000, header, 10))
                .hasMessageContaining("header length 1000 runs past the end of the file (20 bytes)");
    }

    @Test
    void headerThatIsNotUtf8() {
        byte[] header = {'{', '"', (byte) 0xff, (byte) 0xfe, '"', ':', '{', '}', '}'};
        assertOpenFails(rawFile(dir.resolve("latin.safetensors"), header.length, header, 0))
                .hasMessageContaining("not valid UTF-8");
    }

    @Test
    void truncatedFileCutInsideTheData() throws IOException {
        Path file = dir.resolve("cut.safetensors");
        SafetensorsWriter.write(file, new LinkedHashMap<>(Map.of("w", TensorData.ofFloats(new float[] {1, 2, 3, 4}, 4))));
        byte[] whole = Files.readAllBytes(file);
        SafetensorsFixtures.write(file, Arrays.copyOf(whole, whole.length - 3));
        assertOpenFails(file).hasMessageContaining("'w'").hasMessageContaining("run past the end of the file");
    }

    /** Header JSON cases: description, header, data bytes after it, the tensor to be named (or null), a message fragment. */
    static Stream<Arguments> badHeaders() {
        String ok = "\"ok\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        return Stream.of(
                Arguments.of("bad JSON", "{\"w\": {\"dtype\": ", 0, null, "not valid JSON"),
                Arguments.of("JSON but not an object", "[1, 2, 3]", 0, null, "not a JSON object"),
                Arguments.of("only spaces", "        ", 0, null, "empty"),
                Arguments.of("trailing value", "{} {}", 0, null, "not valid JSON"),
                Arguments.of("tensor listed twice", "{" + ok + "," + ok + "}", 8, null, "Duplicate field 'ok'"),
                Arguments.of("entry not an object", "{\"w\": 3}", 0, "w", "not a JSON object"),
                Arguments.of("entry missing a key", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "w",
                        "missing [data_offsets]"),
                Arguments.of("entry with an extra key",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"align\":8}}", 4, "w",
                        "unexpected [align]"),
                Arguments.of("unknown dtype", "{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                        "w", "unknown dtype 'Q4_K'"),
                Arguments.of("dtype not a string", "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                        "w", "dtype is not a string"),
                Arguments.of("negative dimension", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,0]}}",
                        0, "w", "shape[1] is negative"),
                Arguments.of("fractional dimension", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}",
                        4, "w", "shape[0] is not an integer"),
                Arguments.of("dimension beyond a long",
                        "{\"w\":{\"dtype\":\"U8\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4, "w",
                        "does not fit in a long"),
                Arguments.of("shape product overflows",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
                        "w", "more bytes than fit in a long"),
                Arguments.of("shape not an array", "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}",
                        16, "w", "shape is not an array"),
                Arguments.of("one offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "w",
                        "not an array of two integers"),
                Arguments.of("negative offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4,
                        "w", "data_offsets[0] is negative"),
                Arguments.of("offsets reversed", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8,
                        "w", "end before they begin"),
                Arguments.of("wrong byte size for the shape",
                        "{\"w\":{\"dtype\":\"BF16\",\"shape\":[3,2],\"data_offsets\":[0,24]}}", 24, "w",
                        "hold 24 bytes but shape [3, 2] of BF16 needs 12"),
                Arguments.of("offsets past the end of the file",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 20, "w",
                        "run past the end of the file: its data section holds 20 bytes"),
                Arguments.of("overlapping tensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20, "b",
                        "tensors 'a' (bytes"),
                Arguments.of("tensor inside another", "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "b", "overlap"),
                Arguments.of("metadata not an object", "{\"__metadata__\":[\"x\"]}", 0, null,
                        "__metadata__ is not a JSON object"),
                Arguments.of("metadata value not a string", "{\"__metadata__\":{\"epochs\":3}}", 0, null,
                        "__metadata__ value of 'epochs' is not a string"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badHeaders")
    void malformedHeaderIsRejected(String description, String header, int dataBytes, String tensor, String fragment) {
        Path file = rawFile(dir.resolve("bad.safetensors"), header, dataBytes);
        var failure = assertOpenFails(file).hasMessageContaining(fragment);
        if (tensor != null) {
            failure.hasMessageContaining("'" + tensor + "'");
        }
    }

    @Test
    void gapsBetweenTensorsAndEmptyTensorsAnywhereAreAllowed() {
        String header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[5,5]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[10,12]}}";
        try (SafetensorsFile st = SafetensorsFile.open(rawFile(dir.resolve("gaps.safetensors"), header, 16))) {
            assertThat(st.names()).containsExactly("a", "e", "b");
            assertThat(SafetensorsFixtures.bytesOf(st.data("b"))).containsExactly(10, 11);
        }
    }
}
