package dev.realign.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import dev.realign.checkpoint.CheckpointException;
import dev.realign.checkpoint.DType;
import dev.realign.checkpoint.SafetensorsFile;
import dev.realign.checkpoint.SafetensorsWriter;
import dev.realign.checkpoint.TensorData;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.SequencedMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading a model folder: every variant loads; a broken checkpoint is refused with the file and tensor named. */
class LoadedModelTest {
    @TempDir
    Path dir;

    @Test
    void everyArchitectureLoadsInEveryStoredType() {
        for (Architecture arch : Architecture.values()) {
            for (DType dtype : new DType[] {DType.F32, DType.F16, DType.BF16}) {
                Path model = SyntheticModels.write(SyntheticModelSpec.tiny(arch, 3).withDtype(dtype),
                        dir.resolve(arch + "-" + dtype));
                try (LoadedModel loaded = LoadedModel.load("m", model, Device.cpu(), ComputeType.AUTO)) {
                    assertThat(loaded.config().modelType()).isEqualTo(arch.modelType());
                    assertThat(loaded.model().matrixType().name()).isEqualTo(dtype == DType.F32 ? "FLOAT32" : "FLOAT16");
                    assertThat(loaded.endTokens()).isNotEmpty();
                }
            }
        }
    }

    @Test
    void aMissingTensorIsNamed() throws IOException {
        Path model = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 1), dir.resolve("m"));
        String victim = TensorLayout.layer(1, "mlp.up_proj.weight");
        rewriteWithout(model, victim, null);
        assertThatThrownBy(() -> LoadedModel.load("m", model, Device.cpu(), ComputeType.AUTO))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining(victim).hasMessageContaining("missing");
    }

    @Test
    void aTensorOfTheWrongShapeIsNamedWithBothShapes() throws IOException {
        Path model = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.QWEN2, 1), dir.resolve("m"));
        String victim = TensorLayout.layer(0, "self_attn.k_proj.bias");
        rewriteWithout(model, victim, TensorData.ofFloats(new float[3], 3));
        assertThatThrownBy(() -> LoadedModel.load("m", model, Device.cpu(), ComputeType.AUTO))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(victim).hasMessageContaining("[3]").hasMessageContaining("[32]");
    }

    @Test
    void aTruncatedCheckpointIsRefusedAndNothingLeaks() throws IOException {
        Path model = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.MISTRAL, 1), dir.resolve("m"));
        Path file = model.resolve("model.safetensors");
        try (var channel = Files.newByteChannel(file, StandardOpenOption.WRITE)) {
            channel.truncate(Files.size(file) - 100);
        }
        assertThatThrownBy(() -> LoadedModel.load("m", model, Device.cpu(), ComputeType.AUTO))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("model.safetensors");
    }

    @Test
    void aHeaderThatLiesAboutItsLengthIsRefused() throws IOException {
        Path model = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA2, 1), dir.resolve("m"));
        Path file = model.resolve("model.safetensors");
        try (var channel = Files.newByteChannel(file, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Files.size(file) * 2));
        }
        assertThatThrownBy(() -> LoadedModel.load("m", model, Device.cpu(), ComputeType.AUTO))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("model.safetensors");
    }

    @Test
    void anUnknownModelTypeIsRefusedNamingTheField() throws IOException {
        Path model = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 1), dir.resolve("m"));
        Path config = model.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"llama\"", "\"gpt_neox\""));
        assertThatThrownBy(() -> LoadedModel.load("m", model, Device.cpu(), ComputeType.AUTO))
                .isInstanceOf(ModelConfigException.class)
                .hasMessageContaining("config.json").hasMessageContaining("model_type 'gpt_neox'");
    }

    /** Rewrites model.safetensors without {@code name}, or with {@code replacement} in its place. */
    private static void rewriteWithout(Path model, String name, TensorData replacement) {
        Path file = model.resolve("model.safetensors");
        SequencedMap<String, TensorData> tensors = new LinkedHashMap<>();
        try (SafetensorsFile source = SafetensorsFile.open(file)) {
            for (String n : source.names()) {
                if (n.equals(name)) {
                    if (replacement != null) {
                        tensors.put(n, replacement);
                    }
                    continue;
                }
                var info = source.info(n);
                ByteBuffer copy = ByteBuffer.allocate(Math.toIntExact(info.byteSize()));
                copy.put(source.data(n)).flip();
                tensors.put(n, new TensorData(info.dtype(), info.shape(), copy));
            }
        }
        SafetensorsWriter.write(file, tensors);
    }
}
