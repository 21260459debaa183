package dev.realign.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.realign.checkpoint.DType;
import dev.realign.checkpoint.SafetensorsStreamWriter;
import dev.realign.model.Weights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a model (a base or a merged profile's weights) as a Hugging Face folder: the source folder's
 * config, generation config and tokenizer files, and a model.safetensors streamed tensor by tensor (no
 * second copy of the model in memory). Tensors keep the dtype they are held in.
 */
public final class ModelWriter {
    /** Files of a model folder that describe it rather than hold weights. */
    public static final List<String> SIDE_FILES = List.of("config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja");

    private ModelWriter() {}

    public static Path write(Weights weights, Path sourceFolder, Path out, Map<String, String> metadata) {
        try {
            Files.createDirectories(out);
            for (String name : SIDE_FILES) {
                Path file = sourceFolder.resolve(name);
                if (Files.isRegularFile(file)) {
                    Files.copy(file, out.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write model folder " + out, e);
        }
        List<SafetensorsStreamWriter.Entry> layout = new ArrayList<>();
        for (var entry : weights.tensors().entrySet()) {
            NDArray t = entry.getValue();
            layout.add(new SafetensorsStreamWriter.Entry(entry.getKey(), dtype(entry.getKey(), t), t.getShape().getShape()));
        }
        SafetensorsStreamWriter.write(out.resolve("model.safetensors"), layout, metadata, entry -> {
            ByteBuffer bytes = weights.tensor(entry.name()).toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            return chunk -> {
                ByteBuffer slice = bytes.slice(bytes.position(), chunk.remaining()).order(ByteOrder.LITTLE_ENDIAN);
                chunk.put(slice);
                bytes.position(bytes.position() + slice.capacity());
            };
        });
        return out;
    }

    private static DType dtype(String name, NDArray t) {
        DataType type = t.getDataType();
        if (type == DataType.FLOAT32) {
            return DType.F32;
        }
        if (type == DataType.FLOAT16) {
            return DType.F16;
        }
        throw new IllegalArgumentException("tensor '" + name + "' is held as " + type + ", which is not written");
    }
}
