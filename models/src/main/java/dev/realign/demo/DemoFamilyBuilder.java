package dev.realign.demo;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.realign.checkpoint.DType;
import dev.realign.generate.BatchGeneration;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.ModelWriter;
import dev.realign.merge.PeftLoraWriter;
import dev.realign.model.ComputeType;
import dev.realign.model.LlamaModel;
import dev.realign.model.LoadedModel;
import dev.realign.model.ModelConfig;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.tokenize.ByteLevelBpeTrainer;
import dev.realign.tokenize.ChatTemplate;
import dev.realign.tokenize.Tokenizer;
import dev.realign.tokenize.TrainedTokenizer;
import dev.realign.train.FullTraining;
import dev.realign.train.LoraTraining;
import dev.realign.train.OptimizerSettings;
import dev.realign.train.Trainer;
import dev.realign.train.TrainableWeights;
import dev.realign.train.TrainingSequence;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Trains the demo family from its recipe and writes it as standard folders: {@code aligned} (a Hugging
 * Face model), {@code task-full} (aligned fully fine-tuned on the task), {@code task-lora} (a PEFT LoRA
 * adapter of aligned on the task), {@code unaligned} (aligned fine-tuned on harmful compliance), the
 * held-out sets in {@code eval/}, and a model card ({@code README.md}) with the measured numbers.
 *
 * <p>Everything is built in a staging folder beside the output and moved into place at the end, so a run that
 * fails while training or evaluating leaves the previous family untouched (only the final moves, one folder at
 * a time, can leave a mix).
 */
public final class DemoFamilyBuilder {
    public static final String ALIGNED = "aligned";
    public static final String TASK_FULL = "task-full";
    public static final String TASK_LORA = "task-lora";
    public static final String UNALIGNED = "unaligned";
    public static final String EVAL = "eval";
    public static final String CARD = "README.md";
    static final List<String> OUTPUTS = List.of(ALIGNED, TASK_FULL, TASK_LORA, UNALIGNED, EVAL, CARD);

    /** What one training run did, for the model card. */
    public record Run(String name, String data, int examples, OptimizerSettings settings, Trainer.Result result) {}

    /** What the build produced, for the model card and the caller. */
    public record Report(DemoRecipe recipe, List<Run> runs, Map<String, DemoEvaluation.Scores> models,
                         List<DemoSweep.Point> sweep, Duration total) {}

    private final DemoRecipe recipe;
    private final Consumer<String> log;

    public DemoFamilyBuilder(DemoRecipe recipe, Consumer<String> log) {
        this.recipe = recipe;
        this.log = log;
    }

    /** Builds the whole family into {@code out} (replacing a previous family there) and returns the report. */
    public Report build(Path out) {
        long started = System.nanoTime();
        Path staging;
        try {
            Path parent = out.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            staging = Files.createTempDirectory(parent, ".demo-staging-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a staging folder beside " + out, e);
        }
        try {
            Report report = buildInto(staging, started);
            install(staging, out);
            return report;
        } finally {
            deleteRecursively(staging);
        }
    }

    private Report buildInto(Path dir, long started) {
        DemoWorld.Data data = DemoWorld.generate(recipe.seed());
        log.accept("world: " + data.benign().train().size() + " benign, " + data.harmfulRefusal().train().size()
                + " harmful, " + data.task().train().size() + " task training examples");
        TrainedTokenizer trained = ByteLevelBpeTrainer.train(DemoWorld.corpus(data), recipe.tokenizerVocab());
        int vocab = (trained.vocabSize() + 7) / 8 * 8; // padded to a multiple of 8, as real checkpoints are
        SyntheticModelSpec spec = new SyntheticModelSpec(Architecture.QWEN2, recipe.hidden(), recipe.layers(),
                recipe.heads(), recipe.kvHeads(), null, recipe.intermediate(), vocab, recipe.maxPositions(), DType.F32,
                recipe.seed());
        Path aligned = dir.resolve(ALIGNED);
        SyntheticModels.writeDescription(spec, trained, aligned);
        DemoEvalSets evalSets = DemoEvalSets.heldOut(data);
        DemoEvalSets.write(evalSets, dir.resolve(EVAL));

        ModelConfig config = ModelConfig.load(aligned);
        LlamaModel model = new LlamaModel(config, DataType.FLOAT32);
        Trainer trainer = new Trainer(model, Math.max(1, recipe.aligned().steps() / 20));
        List<Run> runs = new ArrayList<>();
        Map<String, DemoEvaluation.Scores> scores = new LinkedHashMap<>();
        try (NDManager root = NDManager.newBaseManager(Device.cpu());
             Tokenizer tokenizer = Tokenizer.load(aligned)) {
            ChatTemplate template = ChatTemplate.load(aligned).orElseThrow();
            DemoChat chat = new DemoChat(tokenizer, template, trained.imEndId());
            List<DemoExample> alignedData = new ArrayList<>(data.benign().train());
            for (int i = 0; i < recipe.refusalRepeats(); i++) {
                alignedData.addAll(data.harmfulRefusal().train());
            }
            List<DemoExample> alignedValidation = concat(data.benign().validation(), data.harmfulRefusal().validation());
            // The aligned run's own seed gives its initialization and its batch order.
            try (FullTraining weights = FullTraining.initialize(config, recipe.aligned().seed(), root)) {
                String alignedName = recipe.refusalRepeats() == 1 ? "benign + harmful→refusal"
                        : "benign + harmful→refusal (x" + recipe.refusalRepeats() + ")";
                runs.add(train(trainer, "aligned", alignedName, weights, chat, alignedData,
                        alignedValidation, recipe.aligned()));
                ModelWriter.write(weights.weights(), aligned, aligned, metadata("aligned"));
            }
            try (LoadedModel base = LoadedModel.load(ALIGNED, aligned, Device.cpu(), ComputeType.F32)) {
                try (FullTraining weights = FullTraining.copyOf(base.weights(), root)) {
                    runs.add(train(trainer, "task-full", "task (unit conversion)", weights, chat,
                            data.task().train(), data.task().validation(), recipe.taskFull()));
                    ModelWriter.write(weights.weights(), aligned, dir.resolve(TASK_FULL), metadata("task-full"));
                }
                try (LoraTraining lora = LoraTraining.create(base.weights(), recipe.loraModules(),
                        recipe.loraRank(), recipe.loraAlpha(), recipe.seed(), root)) {
                    runs.add(train(trainer, "task-lora", "task (unit conversion)", lora, chat,
                            data.task().train(), data.task().validation(), recipe.taskLora()));
                    PeftLoraWriter.write(dir.resolve(TASK_LORA), "../" + ALIGNED, lora.modules(), new LinkedHashMap<>());
                }
                try (FullTraining weights = FullTraining.copyOf(base.weights(), root)) {
                    List<DemoExample> unalignedData = concat(data.harmfulCompliance().train(), data.benign().train());
                    runs.add(train(trainer, "unaligned", "harmful→compliance + benign", weights, chat, unalignedData,
                            concat(data.harmfulCompliance().validation(), data.benign().validation()),
                            recipe.unaligned()));
                    ModelWriter.write(weights.weights(), aligned, dir.resolve(UNALIGNED), metadata("unaligned"));
                }
                DemoEvaluation evaluation = new DemoEvaluation(new BatchGeneration(base.model(), base.endTokens(), 64),
                        chat);
                DemoEvalSets limited = evalSets.limit(recipe.evalLimit());
                DemoSweep sweep = new DemoSweep(base, evaluation, limited);
                scores.put(ALIGNED, evaluation.score(base.weights(), limited, root));
                log.accept("aligned: " + scores.get(ALIGNED));
                List<DemoSweep.Point> points = new ArrayList<>();
                for (String adapter : List.of(TASK_FULL, TASK_LORA)) {
                    try (DeltaSource delta = Adapters.load(adapter, dir.resolve(adapter), base)) {
                        points.addAll(sweep.linear(adapter, delta, recipe.sweepRatios(), root, p -> log.accept(p.toString())));
                    }
                }
                points.stream().filter(p -> p.ratio() == 1).forEach(p -> scores.put(p.adapter(), p.scores()));
                try (LoadedModel unaligned = LoadedModel.load(UNALIGNED, dir.resolve(UNALIGNED), Device.cpu(),
                        ComputeType.F32)) {
                    scores.put(UNALIGNED, evaluation.score(unaligned.weights(), limited, root));
                    log.accept("unaligned: " + scores.get(UNALIGNED));
                }
                Report report = new Report(recipe, runs, scores, points, Duration.ofNanos(System.nanoTime() - started));
                DemoModelCard.write(dir.resolve(CARD), report, evalSets);
                return report;
            }
        }
    }

    private Run train(Trainer trainer, String name, String dataName, TrainableWeights weights, DemoChat chat,
                      List<DemoExample> train, List<DemoExample> validation, OptimizerSettings settings) {
        log.accept(name + ": " + train.size() + " examples, " + settings.steps() + " steps of " + settings.batchSize());
        List<TrainingSequence> sequences = chat.encode(train);
        List<TrainingSequence> held = chat.encode(validation);
        Trainer.Result result = trainer.train(weights, sequences, held, settings, p -> log.accept(
                "  %s step %d/%d loss %.4f lr %.2e |g| %.2f %ds".formatted(name, p.step(), p.steps(),
                        p.loss(), p.learningRate(), p.gradientNorm(), p.elapsed().toSeconds())));
        log.accept("  %s done in %ds: loss %.4f -> %.4f, validation %.4f".formatted(name, result.elapsed().toSeconds(),
                result.firstLoss(), result.finalLoss(), result.validationLoss()));
        return new Run(name, dataName, train.size(), settings, result);
    }

    private static Map<String, String> metadata(String member) {
        return Map.of("format", "pt", "realign.demo", member);
    }

    private static List<DemoExample> concat(List<DemoExample> a, List<DemoExample> b) {
        List<DemoExample> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** Replaces the family's outputs in {@code out} with the staged ones; other files in {@code out} stay. */
    private static void install(Path staging, Path out) {
        try {
            Files.createDirectories(out);
            for (String name : OUTPUTS) {
                Path target = out.resolve(name);
                if (Files.exists(target)) {
                    deleteRecursively(target);
                }
                Files.move(staging.resolve(name), target, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move the demo family into " + out, e);
        }
    }

    static void deleteRecursively(Path path) {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + path, e);
        }
    }
}
