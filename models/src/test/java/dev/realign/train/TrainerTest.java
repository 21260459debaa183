package dev.realign.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.realign.generate.BatchGeneration;
import dev.realign.generate.SamplingParams;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.PeftLoraWriter;
import dev.realign.merge.ProfileMerger;
import dev.realign.model.ComputeType;
import dev.realign.model.LlamaModel;
import dev.realign.model.LoadedModel;
import dev.realign.model.ModelConfig;
import dev.realign.model.SequenceChunk;
import dev.realign.model.Weights;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training through the engine's forward: gradients, memorization, LoRA export. */
class TrainerTest {
    private static final int END = 3;
    @TempDir
    Path dir;

    /** Four prompt -> answer pairs over a small vocabulary; the answers differ, so memorizing needs the prompt. */
    private static List<TrainingSequence> data() {
        List<TrainingSequence> list = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int[] tokens = {10 + i, 20, 30 + i, 40 + 2 * i, 41 + i, 50 + 3 * i, END};
            list.add(new TrainingSequence(tokens, 3));
        }
        return list;
    }

    private ModelConfig config() {
        Path model = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.QWEN2, 5), dir.resolve("config"));
        return ModelConfig.load(model);
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        ModelConfig config = config();
        LlamaModel model = new LlamaModel(config, DataType.FLOAT32);
        List<TrainingSequence> batch = data().subList(0, 2);
        try (NDManager root = NDManager.newBaseManager(Device.cpu());
             FullTraining trainable = FullTraining.initialize(config, 3, root)) {
            String name = "model.layers.1.mlp.down_proj.weight";
            NDArray w = trainable.weights().tensor(name);
            float[] gradient;
            try (NDManager scope = root.newSubManager()) {
                TrainableWeights.Binding binding = trainable.bind(scope);
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    collector.backward(CausalLmLoss.loss(model, binding.weights(), batch, scope));
                }
                int index = trainable.parameters().stream().map(TrainableParameter::name).toList().indexOf(name);
                gradient = binding.leaves().get(index).getGradient().toFloatArray();
            }
            int[] probes = {0, 17, 1000, gradient.length - 1};
            for (int index : probes) {
                float[] values = w.toFloatArray();
                float original = values[index];
                double h = 1e-2;
                double plus = lossWith(model, trainable, w, values, index, original + h, batch, root);
                double minus = lossWith(model, trainable, w, values, index, original - h, batch, root);
                w.set(toBuffer(values, index, original));
                double numeric = (plus - minus) / (2 * h);
                assertThat((double) gradient[index]).as("d loss / d %s[%d]", name, index)
                        .isCloseTo(numeric, within(2e-3 + 0.05 * Math.abs(numeric)));
            }
        }
    }

    @Test
    void loraGradientsMatchFiniteDifferences() {
        Path base = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 9), dir.resolve("lora-base"));
        List<TrainingSequence> batch = data().subList(0, 2);
        try (LoadedModel loaded = LoadedModel.load("base", base, Device.cpu(), ComputeType.F32);
             NDManager root = NDManager.newBaseManager(Device.cpu());
             LoraTraining lora = LoraTraining.create(loaded.weights(), LoraTraining.ALL_PROJECTIONS, 4, 8, 2, root)) {
            // Move B off zero so that A has a gradient too.
            for (TrainableParameter p : lora.parameters()) {
                if (p.name().endsWith("lora_B")) {
                    p.value().addi(0.05f);
                }
            }
            for (int index : new int[] {0, 1, 12, 13, 26, 27}) { // A and B of a few targets
                TrainableParameter p = lora.parameters().get(index);
                float[] gradient;
                try (NDManager scope = root.newSubManager()) {
                    TrainableWeights.Binding binding = lora.bind(scope);
                    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                        collector.backward(CausalLmLoss.loss(loaded.model(), binding.weights(), batch, scope));
                    }
                    gradient = binding.leaves().get(index).getGradient().toFloatArray();
                }
                float[] values = p.value().toFloatArray();
                int probe = values.length / 3;
                double h = 1e-2;
                double plus = loraLoss(loaded.model(), lora, p.value(), values, probe, values[probe] + h, batch, root);
                double minus = loraLoss(loaded.model(), lora, p.value(), values, probe, values[probe] - h, batch, root);
                p.value().set(java.nio.FloatBuffer.wrap(values));
                double numeric = (plus - minus) / (2 * h);
                assertThat((double) gradient[probe]).as("d loss / d %s[%d]", p.name(), probe)
                        .isCloseTo(numeric, within(2e-3 + 0.05 * Math.abs(numeric)));
            }
        }
    }

    private static double loraLoss(LlamaModel model, LoraTraining lora, NDArray w, float[] values, int index,
                                   double value, List<TrainingSequence> batch, NDManager root) {
        w.set(toBuffer(values, index, (float) value));
        try (NDManager scope = root.newSubManager()) {
            return CausalLmLoss.loss(model, lora.weights(), batch, scope).getFloat();
        }
    }

    private static double lossWith(LlamaModel model, FullTraining trainable, NDArray w, float[] values, int index,
                                   double value, List<TrainingSequence> batch, NDManager root) {
        w.set(toBuffer(values, index, (float) value));
        try (NDManager scope = root.newSubManager()) {
            return CausalLmLoss.loss(model, trainable.weights(), batch, scope).getFloat();
        }
    }

    private static java.nio.FloatBuffer toBuffer(float[] values, int index, float value) {
        float[] copy = values.clone();
        copy[index] = value;
        return java.nio.FloatBuffer.wrap(copy);
    }

    @Test
    void fullTrainingMemorizesAndGreedyDecodingReproducesTheAnswers() {
        ModelConfig config = config();
        LlamaModel model = new LlamaModel(config, DataType.FLOAT32);
        List<TrainingSequence> data = data();
        try (NDManager root = NDManager.newBaseManager(Device.cpu());
             FullTraining trainable = FullTraining.initialize(config, 3, root)) {
            Trainer trainer = new Trainer(model, 10);
            List<Trainer.Progress> reports = new ArrayList<>();
            Trainer.Result result = trainer.train(trainable, data, data, OptimizerSettings.of(120, 4, 1e-2, 1),
                    reports::add);
            assertThat(reports).hasSize(12);
            assertThat(result.finalLoss()).isLessThan(0.1 * result.firstLoss());
            assertThat(result.validationLoss()).isLessThan(0.05);

            BatchGeneration generation = new BatchGeneration(model, Set.of(END), 4);
            List<int[]> prompts = data.stream().map(s -> java.util.Arrays.copyOf(s.tokens(), s.lossFrom())).toList();
            List<int[]> answers = generation.generate(trainable.weights(), prompts, SamplingParams.greedy(8), root);
            for (int i = 0; i < data.size(); i++) {
                int[] tokens = data.get(i).tokens();
                assertThat(answers.get(i)).as("answer %d", i)
                        .containsExactly(java.util.Arrays.copyOfRange(tokens, 3, tokens.length - 1));
            }
        }
    }

    @Test
    void loraStartsAtTheBaseAndItsPeftExportServesWhatWasTrained() {
        Path base = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 9), dir.resolve("base"));
        try (LoadedModel loaded = LoadedModel.load("base", base, Device.cpu(), ComputeType.F32);
             NDManager root = NDManager.newBaseManager(Device.cpu());
             LoraTraining lora = LoraTraining.create(loaded.weights(), LoraTraining.ALL_PROJECTIONS, 4, 8, 2, root)) {
            List<TrainingSequence> data = data();
            float[] before = logits(loaded.model(), loaded.weights(), data.getFirst(), root);
            assertThat(logits(loaded.model(), lora.weights(), data.getFirst(), root)).as("B = 0 at init")
                    .containsExactly(before, within(1e-6f));

            Trainer.Result result = new Trainer(loaded.model(), 10).train(lora, data, List.of(),
                    OptimizerSettings.of(30, 4, 1e-2, 1), p -> {});
            assertThat(result.finalLoss()).isLessThan(result.firstLoss());
            assertThat(lora.parameters()).hasSize(2 * 7 * 2);
            float[] trained = logits(loaded.model(), lora.weights(), data.getFirst(), root);

            Path adapter = dir.resolve("adapter");
            PeftLoraWriter.write(adapter, base.toString(), lora.modules(), new LinkedHashMap<>());
            try (DeltaSource loadedAdapter = Adapters.load("trained", adapter, loaded)) {
                Weights served = ProfileMerger.unmerged(loaded.weights(), List.of(loadedAdapter), new double[] {1});
                assertThat(logits(loaded.model(), served, data.getFirst(), root)).containsExactly(trained, within(1e-4f));
            }
        }
    }

    private static float[] logits(LlamaModel model, Weights weights, TrainingSequence s, NDManager root) {
        try (NDManager scope = root.newSubManager()) {
            return model.forward(weights, List.of(new SequenceChunk(null, s.tokens())), scope, true).toFloatArray();
        }
    }
}
