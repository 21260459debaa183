package dev.realign.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import dev.realign.merge.RandomLora;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.TensorLayout;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExportCommandTest {
    @TempDir
    Path dir;

    @Test
    void exportsAMergedProfileAsGgufAndAsSafetensors() throws Exception {
        Path base = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.QWEN2, 4), dir.resolve("base"));
        Path lora;
        try (LoadedModel model = LoadedModel.load("b", base, Device.cpu(), ComputeType.AUTO)) {
            lora = RandomLora.write(dir.resolve("lora"), model.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.1, 3);
        }
        Path gguf = dir.resolve("merged.gguf");
        assertThat(run("export", "--model", base.toString(), "--adapter", "task=" + lora, "--weight", "task=0.5",
                "--out", gguf.toString())).isZero();
        ByteBuffer head = ByteBuffer.wrap(Files.readAllBytes(gguf), 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(head.getInt()).isEqualTo(0x46554747); // "GGUF"
        assertThat(head.getInt()).isEqualTo(3);

        Path folder = dir.resolve("merged");
        assertThat(run("export", "--model", base.toString(), "--adapter", "task=" + lora, "--method", "ties",
                "--density", "0.5", "--format", "safetensors", "--out", folder.toString())).isZero();
        try (LoadedModel merged = LoadedModel.load("m", folder, Device.cpu(), ComputeType.AUTO);
             LoadedModel original = LoadedModel.load("b", base, Device.cpu(), ComputeType.AUTO)) {
            String q = TensorLayout.layer(0, "self_attn.q_proj.weight");
            assertThat(merged.weights().tensor(q).sub(original.weights().tensor(q)).abs().max().getFloat()).isPositive();
            String norm = TensorLayout.layer(0, "input_layernorm.weight");
            assertThat(merged.weights().tensor(norm).contentEquals(original.weights().tensor(norm))).isTrue();
        }
    }

    @Test
    void extractsALoraFromAFullFineTuneAndItLoads() {
        Path base = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 6), dir.resolve("base"));
        Path lora;
        try (LoadedModel model = LoadedModel.load("b", base, Device.cpu(), ComputeType.AUTO)) {
            lora = RandomLora.write(dir.resolve("lora"), model.weights(), RandomLora.ALL_PROJECTIONS, 4, 4, 0.1, 8);
        }
        Path full = dir.resolve("full");
        assertThat(run("export", "--model", base.toString(), "--adapter", "t=" + lora, "--format", "safetensors",
                "--out", full.toString())).isZero();
        Path extracted = dir.resolve("extracted");
        assertThat(run("extract-lora", "--base", base.toString(), "--model", full.toString(), "--rank", "4",
                "--out", extracted.toString())).isZero();
        try (LoadedModel model = LoadedModel.load("b", base, Device.cpu(), ComputeType.AUTO);
             var adapter = dev.realign.merge.Adapters.load("x", extracted, model)) {
            assertThat(adapter.rank()).isEqualTo(4);
            assertThat(adapter.targets()).hasSize(14); // 7 projections x 2 layers
        }
    }

    @Test
    void aWrongFormatIsNamed() {
        StringWriter err = new StringWriter();
        int code = ServerMain.commandLine().setErr(new PrintWriter(err)).execute("export", "--model",
                SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 1), dir.resolve("m")).toString(),
                "--format", "onnx", "--out", dir.resolve("x").toString());
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("--format must be gguf or safetensors");
    }

    private static int run(String... args) {
        StringWriter err = new StringWriter();
        int code = ServerMain.commandLine().setErr(new PrintWriter(err)).execute(args);
        assertThat(err.toString()).as("stderr").doesNotContain("Exception");
        return code;
    }
}
