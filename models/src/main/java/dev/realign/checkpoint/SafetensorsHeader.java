package dev.realign.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;

/**
 * The validated header of one safetensors file. Everything a later read relies on is checked here, before
 * anything is mapped: after {@link #read} every {@link TensorInfo} lies inside the file and no two overlap.
 *
 * <p>Layout: 8 bytes little-endian header length {@code n}, {@code n} bytes of UTF-8 JSON, then the data
 * section; {@code data_offsets} count from the start of the data section. Gaps between tensors and bytes
 * after the last one are allowed (the format does not forbid them and they harm nothing); overlaps are not.
 *
 * @param tensors  name -> where it lives, in header order (offsets absolute in the file)
 * @param metadata {@code __metadata__}, in header order; empty if absent
 * @param fileSize the file's size when the header was read
 */
record SafetensorsHeader(SequencedMap<String, TensorInfo> tensors, Map<String, String> metadata, long fileSize) {
    /** Real headers are kilobytes to a few megabytes; a larger length means a corrupt or foreign file. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private static final String METADATA_KEY = "__metadata__";
    private static final Set<String> ENTRY_KEYS = Set.of("dtype", "shape", "data_offsets");

    static SafetensorsHeader read(Path file, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < 8) {
            throw CheckpointException.inFile(file, "is " + size
                    + " bytes, shorter than the 8-byte header length: not a safetensors file");
        }
        long headerLength = readFully(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength == 0) {
            throw CheckpointException.inFile(file, "header length is 0: not a safetensors file");
        }
        // A negative long is an unsigned length of at least 2^63: absurd as well.
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw CheckpointException.inFile(file, "header length " + Long.toUnsignedString(headerLength)
                    + " is absurdly large (limit " + MAX_HEADER_BYTES + " bytes): not a safetensors file, or corrupt");
        }
        if (headerLength > size - 8) {
            throw CheckpointException.inFile(file, "header length " + headerLength
                    + " runs past the end of the file (" + size + " bytes): truncated or corrupt");
        }
        byte[] headerBytes = readFully(channel, 8, (int) headerLength).array();
        JsonNode root = StrictJson.parse(file, "header", headerBytes);
        if (!root.isObject()) {
            throw CheckpointException.inFile(file, "header is not a JSON object but " + root.getNodeType());
        }

        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;
        SequencedMap<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(file, field.getValue());
            } else {
                tensors.put(field.getKey(), parseEntry(file, field.getKey(), field.getValue(), dataStart, dataSize));
            }
        }
        checkNoOverlap(file, tensors.values());
        return new SafetensorsHeader(Collections.unmodifiableSequencedMap(tensors), metadata, size);
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode entry, long dataStart, long dataSize) {
        if (!entry.isObject()) {
            throw CheckpointException.inTensor(file, name, "header entry is not a JSON object but " + entry.getNodeType());
        }
        Set<String> keys = new TreeSet<>();
        entry.fieldNames().forEachRemaining(keys::add);
        if (!keys.equals(ENTRY_KEYS)) {
            Set<String> missing = new TreeSet<>(ENTRY_KEYS);
            missing.removeAll(keys);
            Set<String> unexpected = new TreeSet<>(keys);
            unexpected.removeAll(ENTRY_KEYS);
            throw CheckpointException.inTensor(file, name, "header entry must have exactly dtype, shape and"
                    + " data_offsets;" + (missing.isEmpty() ? "" : " missing " + missing)
                    + (unexpected.isEmpty() ? "" : " unexpected " + unexpected));
        }

        JsonNode dtypeNode = entry.get("dtype");
        if (!dtypeNode.isTextual()) {
            throw CheckpointException.inTensor(file, name, "dtype is not a string: " + dtypeNode);
        }
        DType dtype = DType.fromSafetensors(dtypeNode.textValue()).orElseThrow(() -> CheckpointException.inTensor(
                file, name, "unknown dtype '" + dtypeNode.textValue() + "' (known: "
                        + Arrays.stream(DType.values()).map(DType::safetensorsName).toList() + ")"));

        JsonNode shapeNode = entry.get("shape");
        if (!shapeNode.isArray()) {
            throw CheckpointException.inTensor(file, name, "shape is not an array: " + shapeNode);
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = StrictJson.nonNegativeLong(file, name, "shape[" + i + "]", shapeNode.get(i));
        }
        long byteSize;
        try {
            byteSize = Math.multiplyExact(TensorData.numel(shape), dtype.bytes());
        } catch (ArithmeticException e) {
            throw CheckpointException.inTensor(file, name, "shape " + Arrays.toString(shape) + " of " + dtype
                    + " has more bytes than fit in a long");
        }

        JsonNode offsets = entry.get("data_offsets");
        if (!offsets.isArray() || offsets.size() != 2) {
            throw CheckpointException.inTensor(file, name, "data_offsets is not an array of two integers: " + offsets);
        }
        long begin = StrictJson.nonNegativeLong(file, name, "data_offsets[0]", offsets.get(0));
        long end = StrictJson.nonNegativeLong(file, name, "data_offsets[1]", offsets.get(1));
        if (begin > end) {
            throw CheckpointException.inTensor(file, name, "data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        if (end - begin != byteSize) {
            throw CheckpointException.inTensor(file, name, "data_offsets [" + begin + ", " + end + "] hold "
                    + (end - begin) + " bytes but shape " + Arrays.toString(shape) + " of " + dtype + " needs " + byteSize);
        }
        if (end > dataSize) {
            throw CheckpointException.inTensor(file, name, "data_offsets [" + begin + ", " + end
                    + "] run past the end of the file: its data section holds " + dataSize + " bytes");
        }
        return new TensorInfo(name, dtype, shape, dataStart + begin, dataStart + end);
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode node) {
        if (!node.isObject()) {
            throw CheckpointException.inFile(file, METADATA_KEY + " is not a JSON object but " + node.getNodeType());
        }
        SequencedMap<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!field.getValue().isTextual()) {
                throw CheckpointException.inFile(file, METADATA_KEY + " value of '" + field.getKey()
                        + "' is not a string: " + field.getValue());
            }
            metadata.put(field.getKey(), field.getValue().textValue());
        }
        return Collections.unmodifiableSequencedMap(metadata);
    }

    /**
     * Sorted by start, a tensor overlaps an earlier one exactly when it starts before the furthest end so far.
     * Empty tensors occupy no bytes, so they overlap nothing wherever they point.
     */
    private static void checkNoOverlap(Path file, Iterable<TensorInfo> tensors) {
        List<TensorInfo> sorted = new ArrayList<>();
        tensors.forEach(t -> {
            if (t.byteSize() > 0) {
                sorted.add(t);
            }
        });
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo furthest = null;
        for (TensorInfo t : sorted) {
            if (furthest != null && t.begin() < furthest.end()) {
                throw CheckpointException.inFile(file, "tensors '" + furthest.name() + "' (bytes " + furthest.begin()
                        + " to " + furthest.end() + ") and '" + t.name() + "' (bytes " + t.begin() + " to "
                        + t.end() + ") overlap");
            }
            if (furthest == null || t.end() > furthest.end()) {
                furthest = t;
            }
        }
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new EOFException("file shrank while its header was read");
            }
        }
        return buffer.flip();
    }
}
