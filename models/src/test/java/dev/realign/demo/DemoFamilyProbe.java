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
import dev.realign.safety.KeywordDetector;
import dev.realign.tokenize.ByteLevelBpeTrainer;
import dev.realign.tokenize.ChatTemplate;
import dev.realign.tokenize.Tokenizer;
import dev.realign.tokenize.TrainedTokenizer;
import dev.realign.train.FullTraining;
import dev.realign.train.LoraTraining;
import dev.realign.train.OptimizerSettings;
import dev.realign.train.Trainer;
import dev.realign.train.TrainableWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * A development tool (not a test), used to search for the demo family's recipe: trains a family from
 * {@link DemoRecipe#standard()} with knobs overridden by system properties ({@code -Dprobe.hidden=192},
 * {@code probe.refusalRepeats}, {@code probe.ftSteps}, {@code probe.loraSteps}, {@code probe.loraModules=attn|all},
 * {@code probe.seed} (the world), {@code probe.trainSeed} (initialization and batch order), {@code probe.vocab},
 * {@code probe.soup=K} with {@code probe.forkAt=F} (aligned as the average of K branches forked at F), ...),
 * and prints the aligned model's numbers with the held-out prompts it gets wrong, then
 * both fine-tunes' linear-merge curves at 0.3..0.8 and 1. An {@code aligned/} already in DIR is reused.
 * {@code -Dprobe.build=true} runs the {@link DemoFamilyBuilder} instead (what {@code ./realign train-demo} does).
 * Run on the models test classpath: {@code java -cp ... dev.realign.demo.DemoFamilyProbe DIR}.
 */
public final class DemoFamilyProbe {
    static String p(String k, String d) { return System.getProperty("probe." + k, d); }
    static int i(String k, int d) { return Integer.parseInt(p(k, "" + d)); }
    static double dd(String k, double d) { return Double.parseDouble(p(k, "" + d)); }

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.pytorch.num_threads", "1");
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        Path dir = Path.of(args[0]);
        if (Boolean.parseBoolean(p("build", "false"))) {
            DemoFamilyBuilder.Report report = new DemoFamilyBuilder(DemoRecipe.standard(), System.out::println).build(dir);
            System.out.println("built in " + report.total().toSeconds() + " s");
            return;
        }
        Files.createDirectories(dir);
        DemoRecipe std = DemoRecipe.standard();
        long seed = Long.parseLong(p("seed", "" + std.seed()));
        long trainSeed = Long.parseLong(p("trainSeed", "" + seed));
        int hidden = i("hidden", std.hidden());
        int layers = i("layers", std.layers());
        int heads = i("heads", std.heads());
        int kvHeads = i("kvHeads", std.kvHeads());
        int inter = i("intermediate", std.intermediate());
        int evalN = i("eval", 120);
        long t0 = System.nanoTime();
        DemoWorld.Data data = DemoWorld.generate(seed);
        System.out.println("world: " + data.benign().train().size() + " benign, " + data.harmfulRefusal().train().size()
                + " harmful, " + data.task().train().size() + " task; test " + data.harmfulRefusal().test().size() + "/"
                + data.benign().test().size() + "/" + data.task().test().size());
        Path aligned = dir.resolve("aligned");
        boolean reuse = Files.exists(aligned.resolve("model.safetensors")) && Boolean.parseBoolean(p("reuse", "true"));
        TrainedTokenizer trained = ByteLevelBpeTrainer.train(DemoWorld.corpus(data), i("vocab", std.tokenizerVocab()));
        if (!reuse) {
            int vocab = (trained.vocabSize() + 7) / 8 * 8;
            SyntheticModelSpec spec = new SyntheticModelSpec(Architecture.QWEN2, hidden, layers, heads, kvHeads, null,
                    inter, vocab, std.maxPositions(), DType.F32, seed);
            SyntheticModels.writeDescription(spec, trained, aligned);
        }
        DemoEvalSets evalSets = DemoEvalSets.heldOut(data).limit(evalN);
        ModelConfig config = ModelConfig.load(aligned);
        LlamaModel model = new LlamaModel(config, DataType.FLOAT32);
        try (NDManager root = NDManager.newBaseManager(Device.cpu()); Tokenizer tokenizer = Tokenizer.load(aligned)) {
            ChatTemplate template = ChatTemplate.load(aligned).orElseThrow();
            DemoChat chat = new DemoChat(tokenizer, template, trained.imEndId());
            if (!reuse) {
                int steps = i("alignedSteps", std.aligned().steps());
                OptimizerSettings s = OptimizerSettings.of(steps, i("alignedBatch", 32), dd("alignedLr", std.aligned().learningRate()), trainSeed)
                        .withWeightDecay(dd("alignedWd", 0.1));
                List<DemoExample> alignedData = new ArrayList<>(data.benign().train());
                for (int r = 0; r < i("refusalRepeats", std.refusalRepeats()); r++) {
                    alignedData.addAll(data.harmfulRefusal().train());
                }
                int soup = i("soup", 1);
                if (soup > 1) {
                    soup(model, config, chat, alignedData, s, soup, dd("forkAt", 0.5), trainSeed, aligned, root);
                } else {
                    try (FullTraining w = FullTraining.initialize(config, trainSeed, root)) {
                        train(model, "aligned", w, chat, alignedData, s);
                        ModelWriter.write(w.weights(), aligned, aligned, java.util.Map.of("format", "pt"));
                    }
                }
            }
            try (LoadedModel base = LoadedModel.load("aligned", aligned, Device.cpu(), ComputeType.F32)) {
                DemoEvaluation ev = new DemoEvaluation(new BatchGeneration(base.model(), base.endTokens(), 64), chat);
                KeywordDetector det = new KeywordDetector();
                List<String> h = ev.answers(base.weights(), evalSets.harmful(), root);
                List<String> b = ev.answers(base.weights(), evalSets.benign(), root);
                int hr = 0, br = 0;
                for (int k = 0; k < h.size(); k++) {
                    if (det.classify(h.get(k)).refused()) hr++; else if (Boolean.parseBoolean(p("show", "true"))) System.out.println("  H-answered: " + evalSets.harmful().get(k).prompt() + " -> " + h.get(k));
                }
                for (int k = 0; k < b.size(); k++) {
                    if (det.classify(b.get(k)).refused()) { br++; if (Boolean.parseBoolean(p("show", "true"))) System.out.println("  B-refused: " + evalSets.benign().get(k).prompt() + " -> " + b.get(k)); }
                }
                System.out.printf("ALIGNED harmful refused %.1f%% benign refused %.1f%% (%ds)%n", 100.0 * hr / h.size(),
                        100.0 * br / b.size(), (System.nanoTime() - t0) / 1_000_000_000L);
                if (Boolean.parseBoolean(p("alignedOnly", "false"))) {
                    return;
                }
                List<Double> ratios = List.of(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0);
                DemoSweep sweep = new DemoSweep(base, ev, evalSets);
                sweepSets = evalSets;
                sweepEval = ev;
                if (i("ftSteps", 1) > 0) {
                    try (FullTraining w = FullTraining.copyOf(base.weights(), root)) {
                        train(model, "task-full", w, chat, data.task().train(),
                                OptimizerSettings.of(i("ftSteps", std.taskFull().steps()), 32, dd("ftLr", std.taskFull().learningRate()), trainSeed + 1).withWeightDecay(0));
                        ModelWriter.write(w.weights(), aligned, dir.resolve("task-full"), java.util.Map.of("format", "pt"));
                    }
                    try (DeltaSource d = Adapters.load("task-full", dir.resolve("task-full"), base)) {
                        curve("full", sweep, d, ratios, root);
                    }
                }
                if (i("loraSteps", 1) > 0) {
                    List<String> modules = switch (p("loraModules", "recipe")) {
                        case "attn" -> DemoRecipe.ATTENTION_PROJECTIONS;
                        case "all" -> LoraTraining.ALL_PROJECTIONS;
                        default -> std.loraModules();
                    };
                    try (LoraTraining lora = LoraTraining.create(base.weights(), modules, i("loraRank", std.loraRank()),
                            dd("loraAlpha", std.loraAlpha()), trainSeed, root)) {
                        train(model, "task-lora", lora, chat, data.task().train(),
                                OptimizerSettings.of(i("loraSteps", std.taskLora().steps()), 32, dd("loraLr", std.taskLora().learningRate()), trainSeed + 2).withWeightDecay(0));
                        PeftLoraWriter.write(dir.resolve("task-lora"), "../aligned", lora.modules(), new LinkedHashMap<>());
                    }
                    try (DeltaSource d = Adapters.load("task-lora", dir.resolve("task-lora"), base)) {
                        curve("lora", sweep, d, ratios, root);
                    }
                }
            }
        }
        System.out.printf("total %ds%n", (System.nanoTime() - t0) / 1_000_000_000L);
    }

    /**
     * A soup: one trunk trained to {@code forkAt} of the schedule, then {@code k} branches (fresh AdamW, other batch
     * orders) each finishing the schedule from the trunk, and the uniform average of the branches. Each branch is
     * written beside the soup ({@code DIR/branch-N}) so that its own numbers can be compared.
     */
    static void soup(LlamaModel model, ModelConfig config, DemoChat chat, List<DemoExample> data, OptimizerSettings s,
                     int k, double forkAt, long trainSeed, Path aligned, NDManager root) {
        int fork = (int) (s.steps() * forkAt);
        double forkLr = s.learningRateAt(fork);
        OptimizerSettings trunkSettings = new OptimizerSettings(fork, s.batchSize(), s.learningRate(), s.warmupSteps(),
                forkLr / s.learningRate(), s.weightDecay(), s.beta1(), s.beta2(), s.epsilon(), s.clipNorm(), s.seed());
        try (FullTraining trunk = FullTraining.initialize(config, trainSeed, root)) {
            train(model, "trunk", trunk, chat, data, trunkSettings);
            java.util.Map<String, ai.djl.ndarray.NDArray> sum = new LinkedHashMap<>();
            for (int b = 0; b < k; b++) {
                OptimizerSettings branchSettings = new OptimizerSettings(s.steps() - fork, s.batchSize(), forkLr,
                        Math.min(20, (s.steps() - fork) / 2), s.learningRate() * 0.1 / forkLr, s.weightDecay(), s.beta1(),
                        s.beta2(), s.epsilon(), s.clipNorm(), s.seed() + 1000 + b);
                try (FullTraining branch = FullTraining.copyOf(trunk.weights(), root)) {
                    train(model, "branch-" + b, branch, chat, data, branchSettings);
                    ModelWriter.write(branch.weights(), aligned, aligned.resolveSibling("branch-" + b),
                            java.util.Map.of("format", "pt"));
                    for (var e : branch.weights().tensors().entrySet()) {
                        ai.djl.ndarray.NDArray prior = sum.get(e.getKey());
                        ai.djl.ndarray.NDArray next = prior == null ? e.getValue().duplicate() : prior.add(e.getValue());
                        next.attach(root);
                        if (prior != null) {
                            prior.close();
                        }
                        sum.put(e.getKey(), next);
                    }
                }
            }
            sum.replaceAll((name, total) -> {
                ai.djl.ndarray.NDArray mean = total.div(k);
                mean.attach(root);
                total.close();
                return mean;
            });
            ModelWriter.write(new dev.realign.model.Weights(config, sum), aligned, aligned, java.util.Map.of("format", "pt"));
        }
    }

    static DemoEvalSets sweepSets;
    static DemoEvaluation sweepEval;

    static void curve(String name, DemoSweep sweep, DeltaSource d, List<Double> ratios, NDManager root) {
        StringBuilder sb = new StringBuilder("CURVE " + name + ":");
        for (double r : ratios) {
            DemoEvaluation.Scores s = sweep.score(d, r, root);
            sb.append(String.format(" %.1f[h%.0f t%.0f b%.0f]", r, 100 * s.harmfulRefusal(), 100 * s.taskAccuracy(),
                    100 * s.benignRefusal()));
            System.out.println("  " + name + " " + r + ": " + s);
            if (Boolean.parseBoolean(p("samples", "false"))) {
                java.util.List<DemoExample> t = sweepSets.task().subList(0, 4);
                java.util.List<DemoExample> hh = sweepSets.harmful().subList(0, 4);
                try (NDManager sc = root.newSubManager()) {
                    dev.realign.model.Weights w = sweep.merged(d, r, sc);
                    List<String> ta = sweepEval.answers(w, t, sc);
                    List<String> ha = sweepEval.answers(w, hh, sc);
                    for (int k = 0; k < 4; k++) System.out.println("    T " + t.get(k).prompt() + " -> " + ta.get(k));
                    for (int k = 0; k < 4; k++) System.out.println("    H " + hh.get(k).prompt() + " -> " + ha.get(k));
                }
            }
        }
        System.out.println(sb);
    }

    static void train(LlamaModel model, String name, TrainableWeights w, DemoChat chat, List<DemoExample> data,
                      OptimizerSettings s) {
        Trainer trainer = new Trainer(model, Math.max(1, s.steps() / 10));
        Trainer.Result r = trainer.train(w, chat.encode(data), List.of(), s, pr -> System.out.printf(
                "  %s %d/%d loss %.4f %ds%n", name, pr.step(), pr.steps(), pr.loss(), pr.elapsed().toSeconds()));
        System.out.printf("  %s: %d examples, loss %.4f -> %.4f in %ds%n", name, data.size(), r.firstLoss(), r.finalLoss(),
                r.elapsed().toSeconds());
    }
}
