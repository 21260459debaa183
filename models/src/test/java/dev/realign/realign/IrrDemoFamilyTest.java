package dev.realign.realign;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.demo.DemoChat;
import dev.realign.demo.DemoEvalSets;
import dev.realign.demo.DemoEvaluation;
import dev.realign.demo.DemoExample;
import dev.realign.demo.DemoFamilyBuilder;
import dev.realign.demo.DemoRecipe;
import dev.realign.demo.DemoWorld;
import dev.realign.generate.BatchGeneration;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.Weights;
import dev.realign.tokenize.ByteLevelBpeTrainer;
import dev.realign.train.TrainingSequence;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * IRR on the shipped demo family (models/demo): the aligned model, its full fine-tune on unit conversion and the
 * unaligned variant, with the aligned model's own greedy answers to training harmful prompts as safety data and
 * training task examples as calibration data.
 *
 * <p>What it measured (80 held-out prompts per set, 2026-11-24) on the first family: task-full alone 100% task
 * accuracy, 0% harmful refused; IRR at the paper's defaults removes the 50.5% sign-conflicting entries of the seven
 * projections and keeps 68.8% task accuracy, remove-only 13.8%; neither brings refusals back (0%), unlike a linear
 * merge at ratio 0.3. The full fine-tune also changed the tied embeddings, norms and biases, which IRR leaves as
 * they are. On the third recipe's family (a gentler 150-step fine-tune of a wider model) IRR kept 100% and removal
 * alone already 88.8%; the fourth recipe's and the fifth's (the current one: 99.2% against 65.8% removal alone,
 * 0% refused, README "Realignment compared") pass too, so the test asserts what holds for all:
 * IRR keeps at least half of the task, and recalibration never keeps less of it than removal alone.
 */
class IrrDemoFamilyTest {
    private static final Path FAMILY = Path.of("demo");

    @Test
    void recalibrationKeepsTheTaskThatRemovalAloneLoses() {
        try (LoadedModel aligned = load(DemoFamilyBuilder.ALIGNED);
             LoadedModel unaligned = load(DemoFamilyBuilder.UNALIGNED);
             NDManager manager = NDManager.newBaseManager(Device.cpu());
             DeltaSource tuned = Adapters.load(DemoFamilyBuilder.TASK_FULL, FAMILY.resolve(DemoFamilyBuilder.TASK_FULL),
                     aligned)) {
            int endOfTurn = aligned.tokenizer().tokenId(ByteLevelBpeTrainer.IM_END).orElseThrow();
            DemoChat chat = new DemoChat(aligned.tokenizer(), aligned.chatTemplate().orElseThrow(), endOfTurn);
            DemoEvaluation evaluation = new DemoEvaluation(new BatchGeneration(aligned.model(), aligned.endTokens(), 64),
                    chat);
            List<DemoExample> task = DemoEvalSets.load(FAMILY.resolve(DemoFamilyBuilder.EVAL)).limit(80).task();
            DemoWorld.Data data = DemoWorld.generate(DemoRecipe.standard().seed());
            List<DemoExample> harmful = data.harmfulRefusal().train().subList(0, 64);
            List<String> safeAnswers = evaluation.answers(aligned.weights(), harmful, manager);
            List<TrainingSequence> safety = new ArrayList<>();
            for (int i = 0; i < harmful.size(); i++) {
                DemoExample e = harmful.get(i);
                safety.add(chat.encode(new DemoExample(e.prompt(), safeAnswers.get(i), e.kind(), e.category())));
            }
            List<int[]> calibration = chat.encode(data.task().train().subList(0, 128)).stream()
                    .map(TrainingSequence::tokens).toList();
            IrrInputs inputs = new IrrInputs(aligned.weights(), IrrInputs.deltasOf(tuned, manager), unaligned.weights(),
                    safety, calibration);
            Irr irr = new Irr(aligned.model());
            try (IrrResult recalibrated = irr.run(inputs, IrrParameters.DEFAULTS, manager, p -> {}, Cancellation.NEVER);
                 IrrResult removed = irr.run(inputs, IrrParameters.DEFAULTS.withRemoveOnly(true), manager, p -> {},
                         Cancellation.NEVER)) {
                assertThat((double) recalibrated.removed() / entries(recalibrated)).isBetween(0.4, 0.6);
                double withIrr = evaluation.taskAccuracy(realigned(aligned.weights(), recalibrated, manager), task, manager);
                double withRemoval = evaluation.taskAccuracy(realigned(aligned.weights(), removed, manager), task, manager);
                assertThat(withIrr).as("task accuracy after IRR").isGreaterThanOrEqualTo(0.5);
                assertThat(withRemoval).as("task accuracy after removal alone").isLessThanOrEqualTo(withIrr);
            }
        }
    }

    private static LoadedModel load(String member) {
        return LoadedModel.load(member, FAMILY.resolve(member), Device.cpu(), ComputeType.F32);
    }

    private static long entries(IrrResult result) {
        return result.stats().values().stream().mapToLong(IrrTensorStats::entries).sum();
    }

    private static Weights realigned(Weights aligned, IrrResult result, NDManager manager) {
        Map<String, NDArray> tuned = new LinkedHashMap<>();
        result.delta().forEach((name, delta) -> {
            NDArray w = aligned.tensor(name).add(delta);
            w.attach(manager);
            tuned.put(name, w);
        });
        return aligned.withOverrides(tuned);
    }
}
