package dev.realign.client.cli;

import dev.realign.api.v1.JobResult;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.api.v1.SomfJob;
import dev.realign.api.v1.SomfParameters;
import dev.realign.api.v1.SomfStats;
import dev.realign.client.sweep.PromptSets;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code realign jobs somf}: SOMF on the server, the fused model registered as an adapter. */
@Command(name = "somf", sortOptions = false,
        description = {
            "Fuse fine-tunes with SOMF (a safety mask over their task vectors, learned",
            "with DPO on preference pairs) on the server and register the fused model as",
            "a new version of --out-adapter in your namespace. The server must serve the",
            "safe base model in fp32 (serve --dtype f32).",
            "--preferences: JSONL lines {\"prompt\", \"chosen\", \"rejected\"}, the chosen",
            "answer safe and the rejected one compliant; a builtin set's name or a file on",
            "the server under your roots.",
            "Progress (with the DPO loss) goes to stderr, the result to stdout. Ctrl-C",
            "cancels the job; a cancelled or failed job registers nothing."})
final class SomfJobCommand implements Callable<Integer> {
    /** {@code --merge} values: how several masked task vectors combine. */
    enum Fusion { TASK_ARITHMETIC, TIES, DARE }

    private final CliContext context;

    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Mixin
    ConnectionOptions connection = new ConnectionOptions();

    @Mixin
    JobOutputOptions output = new JobOutputOptions();

    @Option(names = "--fine-tuned", paramLabel = "NAME", required = true, split = ",",
            description = "Loaded adapters to fuse (LoRA or full delta); repeat or separate with commas.")
    List<String> fineTuned;

    @Option(names = "--safe-adapter", paramLabel = "NAME",
            description = "phi_safe is the served model plus this loaded adapter (e.g. a safety LoRA); default: the "
                    + "served model.")
    String safeAdapter;

    @Option(names = "--preferences", paramLabel = "SET", required = true,
            description = "Safety preference pairs (JSONL: prompt, chosen, rejected).")
    String preferences;

    @Option(names = "--limit", paramLabel = "N", converter = NonNegativeIntConverter.class, defaultValue = "0",
            description = "Pairs at most, spread over the file (default: ${DEFAULT-VALUE} = all).")
    int limit;

    @Option(names = "--steps", paramLabel = "N", converter = NonNegativeIntConverter.class,
            description = "Optimizer steps on the mask (default: 200).")
    Integer steps;

    @Option(names = "--learning-rate", paramLabel = "F", description = "Adam's step size on the logits (default: 0.05).")
    Double learningRate;

    @Option(names = "--batch-size", paramLabel = "N", converter = NonNegativeIntConverter.class,
            description = "Pairs per step (default: 4).")
    Integer batchSize;

    @Option(names = "--temperature", paramLabel = "F", description = "Concrete relaxation temperature (default: 0.5).")
    Double temperature;

    @Option(names = "--beta", paramLabel = "F", description = "DPO's beta (default: 0.1).")
    Double beta;

    @Option(names = "--initial-logit", paramLabel = "F", description = "Every mask logit's start (default: 0).")
    Double initialLogit;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the noise, pair order and serving draw (default: 0).")
    Long seed;

    @Option(names = "--merge", paramLabel = "M",
            description = "Fusion of several adapters: TASK_ARITHMETIC (default), TIES or DARE.")
    Fusion merge;

    @Option(names = "--merge-scale", paramLabel = "F", description = "lambda on the merged vectors (default: 1).")
    Double mergeScale;

    @Option(names = "--merge-density", paramLabel = "F",
            description = "TIES: fraction kept; DARE: keep probability (default: 1).")
    Double mergeDensity;

    SomfJobCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        JobResult result = output.run(context, connection, request());
        print(result, context.out());
        return ExitCodes.OK;
    }

    RunJobRequest request() {
        var parameters = SomfParameters.newBuilder();
        if (steps != null) {
            parameters.setSteps(positive("--steps", steps));
        }
        if (batchSize != null) {
            parameters.setBatchSize(positive("--batch-size", batchSize));
        }
        if (learningRate != null) {
            parameters.setLearningRate(positive("--learning-rate", learningRate));
        }
        if (temperature != null) {
            parameters.setTemperature(positive("--temperature", temperature));
        }
        if (beta != null) {
            parameters.setBeta(positive("--beta", beta));
        }
        if (mergeScale != null) {
            parameters.setMergeScale(positive("--merge-scale", mergeScale));
        }
        if (mergeDensity != null) {
            if (!(mergeDensity > 0 && mergeDensity <= 1)) {
                throw usage("--merge-density must be in (0, 1], got " + mergeDensity);
            }
            parameters.setMergeDensity(mergeDensity);
        }
        if (initialLogit != null) {
            parameters.setInitialLogit(initialLogit);
        }
        if (seed != null) {
            parameters.setSeed(seed);
        }
        if (merge != null) {
            parameters.setMerge(switch (merge) {
                case TASK_ARITHMETIC -> MergeMethod.TASK_ARITHMETIC;
                case TIES -> MergeMethod.TIES;
                case DARE -> MergeMethod.DARE_LINEAR;
            });
        }
        var somf = SomfJob.newBuilder().setParameters(parameters);
        for (String name : fineTuned) {
            if (name.isBlank()) {
                throw usage("--fine-tuned names an empty adapter");
            }
            somf.addFineTuned(name.strip());
        }
        if (safeAdapter != null) {
            somf.setSafeAdapter(safeAdapter.strip());
        }
        try {
            somf.setPreferences(PromptSets.of(preferences, null, limit));
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        return output.applyTo(RunJobRequest.newBuilder().setSomf(somf), spec).build();
    }

    static void print(JobResult result, PrintWriter out) {
        JobOutputOptions.printRegistered(result, out);
        SomfStats s = result.getSomfStats();
        out.printf(Locale.ROOT, "mask density %.2f%% of %d entries in %d tensors; DPO loss %.4f at the first step, "
                        + "%.4f over the last tenth%n", 100 * s.getDensity(), s.getEntries(), s.getTensors(),
                s.getFirstLoss(), s.getFinalLoss());
        JobOutputOptions.printWritten(result, out);
        out.flush();
    }

    private int positive(String option, int value) {
        if (value < 1) {
            throw usage(option + " must be >= 1, got " + value);
        }
        return value;
    }

    private double positive(String option, double value) {
        if (!(value > 0) || !Double.isFinite(value)) {
            throw usage(option + " must be positive, got " + value);
        }
        return value;
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
