package dev.realign.merge;

import static dev.realign.merge.LoraTestFixtures.DOWN0;
import static dev.realign.merge.LoraTestFixtures.Q0;
import static dev.realign.merge.LoraTestFixtures.assertClose;
import static dev.realign.merge.LoraTestFixtures.copyModel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.realign.checkpoint.CheckpointException;
import dev.realign.checkpoint.DType;
import dev.realign.checkpoint.FloatConversions;
import dev.realign.checkpoint.SafetensorsFile;
import dev.realign.checkpoint.SafetensorsWriter;
import dev.realign.checkpoint.TensorData;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.ModelConfigException;
import dev.realign.model.TensorLayout;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.SequencedMap;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Full fine-tuned checkpoints as deltas: only changed tensors are targets, delta = ft - base, refusals. */
class FullDeltaAdapterTest {
    static final String DOWN1 = "model.layers.1.mlp.down_proj.weight";

    @TempDir
    static Path shared;
    static Path baseDir;
    static LoadedModel base;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadBase() {
        baseDir = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 7), shared.resolve("base"));
        base = LoadedModel.load("base", baseDir, Device.cpu(), ComputeType.AUTO);
    }

    @AfterAll
    static void closeBase() {
        base.close();
    }

    /** The tensor plus seeded noise, in its own dtype (F32 or BF16). */
    static TensorData perturbed(TensorData t, long seed) {
        float[] values = t.toFloats();
        var random = new SplittableRandom(seed);
        for (int i = 0; i < values.length; i++) {
            values[i] += (float) (0.01 * random.nextGaussian());
        }
        if (t.dtype() == DType.F32) {
            return TensorData.ofFloats(values, t.shape());
        }
        ByteBuffer bf16 = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            bf16.putShort(FloatConversions.floatToBf16(v));
        }
        return new TensorData(DType.BF16, t.shape(), bf16.flip());
    }

    private static FullDeltaAdapter load(Path ft) {
        return FullDeltaAdapter.load("ft", ft, base.config(), base.weights(), base.manager());
    }

    private Path fineTune(String name, Set<String> changed, long seed) {
        return copyModel(baseDir, dir.resolve(name), (n, t) -> changed.contains(n) ? perturbed(t, seed + n.hashCode()) : null);
    }

    @Test
    void theTargetsAreThePerturbedTensorsAndTheDeltaIsFineTunedMinusBase() throws IOException {
        Set<String> changed = Set.of(Q0 + ".weight", DOWN1, TensorLayout.FINAL_NORM);
        Path ft = fineTune("ft", changed, 1);
        // A fine-tune may change its EOS token.
        Path config = ft.resolve("config.json");
        Files.writeString(config, Files.readString(config).replaceFirst("\"eos_token_id\" : \\d+", "\"eos_token_id\" : 3"));
        try (FullDeltaAdapter a = load(ft); NDManager m = base.manager().newSubManager()) {
            assertThat(a.kind()).isEqualTo(AdapterKind.FULL_DELTA);
            assertThat(a.targets()).containsExactly(Q0 + ".weight", DOWN1, TensorLayout.FINAL_NORM);
            assertThat(a.rank()).isZero();
            assertThat(a.sizeBytes()).isZero();
            try (var file = SafetensorsFile.open(ft.resolve("model.safetensors"))) {
                for (String target : a.targets()) {
                    assertThat(a.lora(target)).isEmpty();
                    float[] tuned = file.floats(target);
                    float[] held = base.weights().tensor(target).toFloatArray();
                    double[] expected = new double[tuned.length];
                    for (int i = 0; i < tuned.length; i++) {
                        expected[i] = tuned[i] - held[i];
                    }
                    NDArray delta = a.delta(target, m);
                    assertThat(delta.getDataType()).isEqualTo(DataType.FLOAT32);
                    assertThat(delta.getShape()).isEqualTo(base.weights().tensor(target).getShape());
                    assertClose(delta, expected, 1e-6);
                }
            }
            assertThatThrownBy(() -> a.delta(DOWN0 + ".weight", m)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void theContentHashIsStableAndFollowsTheChangedTensors() {
        Path ft = fineTune("ft", Set.of(Q0 + ".weight"), 1);
        Path other = fineTune("other", Set.of(Q0 + ".weight"), 2);
        Path more = fineTune("more", Set.of(Q0 + ".weight", TensorLayout.FINAL_NORM), 1);
        try (FullDeltaAdapter a = load(ft); FullDeltaAdapter again = load(ft); FullDeltaAdapter b = load(other);
                FullDeltaAdapter c = load(more)) {
            assertThat(again.contentHash()).isEqualTo(a.contentHash()).matches("[0-9a-f]{64}");
            assertThat(b.contentHash()).isNotEqualTo(a.contentHash());
            assertThat(c.contentHash()).isNotEqualTo(a.contentHash());
        }
    }

    @Test
    void aBf16FineTuneOfABf16BaseHeldAsF16ChangesOnlyWhatWasTuned(@TempDir Path bf16) {
        Path baseBf16 = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 7).withDtype(DType.BF16),
                bf16.resolve("base"));
        Path ft = copyModel(baseBf16, bf16.resolve("ft"), (n, t) -> n.equals(DOWN1) ? perturbed(t, 5) : null);
        try (LoadedModel half = LoadedModel.load("half", baseBf16, Device.cpu(), ComputeType.AUTO);
                FullDeltaAdapter a = FullDeltaAdapter.load("ft", ft, half.config(), half.weights(), half.manager());
                NDManager m = half.manager().newSubManager();
                var file = SafetensorsFile.open(ft.resolve("model.safetensors"))) {
            assertThat(half.weights().tensor(DOWN1).getDataType()).isEqualTo(DataType.FLOAT16);
            assertThat(a.targets()).containsExactly(DOWN1);
            float[] tuned = file.floats(DOWN1); // BF16 widened exactly
            NDArray held = half.weights().tensor(DOWN1).toType(DataType.FLOAT32, true);
            held.attach(m);
            float[] heldValues = held.toFloatArray();
            double[] expected = new double[tuned.length];
            for (int i = 0; i < tuned.length; i++) {
                expected[i] = tuned[i] - heldValues[i];
            }
            assertClose(a.delta(DOWN1, m), expected, 1e-6);
        }
    }

    @Test
    void anotherArchitectureIsRefusedNamingTheField() throws IOException {
        Path ft = fineTune("ft", Set.of(Q0 + ".weight"), 1);
        Path config = ft.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("500000.0", "10000.0"));
        assertThatThrownBy(() -> load(ft)).isInstanceOf(ModelConfigException.class)
                .hasMessageContaining("config.json").hasMessageContaining("ropeTheta")
                .hasMessageContaining("10000.0").hasMessageContaining("500000.0");
    }

    @Test
    void aNanIsRefusedNamingTheTensor() {
        Path ft = copyModel(baseDir, dir.resolve("ft"), (n, t) -> {
            if (!n.equals(DOWN1)) {
                return null;
            }
            float[] values = t.toFloats();
            values[7] = Float.POSITIVE_INFINITY;
            return TensorData.ofFloats(values, t.shape());
        });
        assertThatThrownBy(() -> load(ft)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining(DOWN1).hasMessageContaining("element 7");
    }

    @Test
    void aTensorOutsideTheBaseLayoutIsRefused() {
        Path ft = copyModel(baseDir, dir.resolve("ft"), (n, t) -> null);
        try (FullDeltaAdapter unchanged = load(ft)) {
            assertThat(unchanged.targets()).isEmpty();
        }
        SequencedMap<String, TensorData> tensors = new LinkedHashMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(ft.resolve("model.safetensors"))) {
            for (String n : file.names()) {
                tensors.put(n, TensorData.ofFloats(file.floats(n), file.info(n).shape()));
            }
        }
        tensors.put("model.rotary_emb.inv_freq", TensorData.ofFloats(new float[8], 8));
        SafetensorsWriter.write(ft.resolve("model.safetensors"), tensors);
        assertThatThrownBy(() -> load(ft)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model.rotary_emb.inv_freq").hasMessageContaining("layout");
    }

    @Test
    void adaptersDetectTheKindOfAFolder() throws IOException {
        Path ft = fineTune("ft", Set.of(Q0 + ".weight"), 1);
        Path lora = dir.resolve("lora");
        var random = new SplittableRandom(3);
        var tensors = new LinkedHashMap<String, TensorData>();
        tensors.put(LoraTestFixtures.loraName(Q0, "A"), TensorData.ofFloats(LoraTestFixtures.random(random, 4 * 64, 0.1), 4, 64));
        tensors.put(LoraTestFixtures.loraName(Q0, "B"), TensorData.ofFloats(LoraTestFixtures.random(random, 64 * 4, 0.1), 64, 4));
        LoraTestFixtures.writeAdapter(lora, LoraTestFixtures.config(4, 8, List.of("q_proj")), tensors);
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertThat(Adapters.detect(ft)).isEqualTo(AdapterKind.FULL_DELTA);
        assertThat(Adapters.detect(lora)).isEqualTo(AdapterKind.LORA);
        try (DeltaSource a = Adapters.load("x", ft, base); DeltaSource b = Adapters.load("y", lora, base)) {
            assertThat(a).isInstanceOf(FullDeltaAdapter.class);
            assertThat(a.name()).isEqualTo("x");
            assertThat(b).isInstanceOf(PeftLoraAdapter.class);
            assertThat(b.targets()).containsExactly(Q0 + ".weight");
        }
        assertThatThrownBy(() -> Adapters.detect(empty)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("adapter_config.json").hasMessageContaining("config.json");
        assertThatThrownBy(() -> Adapters.load("z", dir.resolve("missing"), base))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("no such folder");
    }
}
