package dev.realign.client.cli;

import dev.realign.api.v1.IrrJob;
import dev.realign.api.v1.IrrParameters;
import dev.realign.api.v1.JobResult;
import dev.realign.api.v1.JobStats;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.client.JobListener;
import dev.realign.client.RealignClient;
import dev.realign.client.sweep.PromptSets;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code realign jobs irr}: IRR on the server, the result registered as an adapter. */
@Command(name = "irr", sortOptions = false,
        description = {
            "Realign a fine-tune with IRR (identify, remove, recalibrate) on the server and",
            "register the result as a new version of --out-adapter in your namespace.",
            "The server must serve the base model in fp32 (serve --dtype f32). --unaligned",
            "names a loaded FULL_DELTA adapter of the same base (W_u = W_a + its delta).",
            "--safety: harmful prompts with the aligned model's safe answers as references",
            "(JSONL); --calibration: task prompts (references appended as answers).",
            "A SET is a builtin set's name or a file on the server under your roots.",
            "Progress goes to stderr, the result to stdout. Ctrl-C cancels the job; a",
            "cancelled or failed job registers nothing."})
final class IrrJobCommand implements Callable<Integer> {

    private final CliContext context;

    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Mixin
    ConnectionOptions connection = new ConnectionOptions();

    @Option(names = "--model", paramLabel = "ID", description = "The aligned base model (default: the server's default).")
    String model;

    @Option(names = "--fine-tuned", paramLabel = "NAME", required = true,
            description = "The loaded adapter to realign (LoRA or full delta).")
    String fineTuned;

    @Option(names = "--unaligned", paramLabel = "NAME", required = true,
            description = "A loaded FULL_DELTA adapter of the same base: the unaligned model.")
    String unaligned;

    @Option(names = "--safety", paramLabel = "SET", required = true,
            description = "Harmful prompts with safe answers as references.")
    String safety;

    @Option(names = "--calibration", paramLabel = "SET",
            description = "Task prompts for the recalibration (required unless --remove-only).")
    String calibration;

    @Option(names = "--safety-format", paramLabel = "FMT", description = "Format of a --safety file (default: from its extension).")
    String safetyFormat;

    @Option(names = "--calibration-format", paramLabel = "FMT",
            description = "Format of a --calibration file (default: from its extension).")
    String calibrationFormat;

    @Option(names = "--limit", paramLabel = "N", converter = NonNegativeIntConverter.class, defaultValue = "0",
            description = "Prompts per set at most (default: ${DEFAULT-VALUE} = all).")
    int limit;

    @Option(names = "--out-adapter", paramLabel = "NAME", required = true,
            description = "Register the result under this name (a new version if it exists).")
    String outAdapter;

    @Option(names = "--out-path", paramLabel = "DIR",
            description = "Also write the result (a full-delta model folder) here on the server, under your roots.")
    String outPath;

    @Option(names = "--sparsity", paramLabel = "F",
            description = "Fraction of each block's candidates KEPT, in [0, 1] (default: 0 = remove all).")
    Double sparsity;

    @Option(names = "--block-size", paramLabel = "N", converter = NonNegativeIntConverter.class,
            description = "Columns per block (default: 128).")
    Integer blockSize;

    @Option(names = "--damp", paramLabel = "F", description = "Hessian dampening, fraction of its mean diagonal (default: 0.01).")
    Double damp;

    @Option(names = "--fisher-batch-size", paramLabel = "N", converter = NonNegativeIntConverter.class,
            description = "Safety sequences per Fisher gradient (default: 1).")
    Integer fisherBatchSize;

    @Option(names = "--remove-only", description = "Ablation: remove, do not recalibrate.")
    boolean removeOnly;

    @Option(names = "--remove-more", description = "Every entry is a candidate, conflicting ones first.")
    boolean removeMore;

    @Option(names = "--no-progress", description = "Do not draw the progress bar on stderr.")
    boolean noProgress;

    IrrJobCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        RunJobRequest request = request();
        var cancellation = new SweepCancellation();
        JobResult result;
        try (var onCtrlC = context.interrupts().onInterrupt(cancellation::interrupt);
             RealignClient client = context.connector().connect(connection.server(context),
                     connection.clientOptions(context))) {
            ReadinessWait.beforeCall(client, connection, context);
            try (var progress = noProgress ? null : new JobProgressBar(context.err())) {
                JobListener listener = progress != null ? progress : JobListener.NONE;
                result = cancellation.await(client.runJob(request, listener));
            }
        }
        print(result, context.out());
        return ExitCodes.OK;
    }

    RunJobRequest request() {
        if (sparsity != null && !(sparsity >= 0 && sparsity <= 1)) {
            throw usage("--sparsity must be in [0, 1], got " + sparsity);
        }
        if (damp != null && !(damp > 0 && damp <= 1)) {
            throw usage("--damp must be in (0, 1], got " + damp);
        }
        if (blockSize != null && blockSize < 1) {
            throw usage("--block-size must be >= 1, got " + blockSize);
        }
        if (fisherBatchSize != null && fisherBatchSize < 1) {
            throw usage("--fisher-batch-size must be >= 1, got " + fisherBatchSize);
        }
        if (calibration == null && !removeOnly) {
            throw usage("--calibration is required unless --remove-only");
        }
        var parameters = IrrParameters.newBuilder().setRemoveOnly(removeOnly).setRemoveMore(removeMore);
        if (sparsity != null) {
            parameters.setSparsity(sparsity);
        }
        if (blockSize != null) {
            parameters.setBlockSize(blockSize);
        }
        if (damp != null) {
            parameters.setDamp(damp);
        }
        if (fisherBatchSize != null) {
            parameters.setFisherBatchSize(fisherBatchSize);
        }
        var irr = IrrJob.newBuilder().setFineTuned(fineTuned.strip()).setUnaligned(unaligned.strip())
                .setParameters(parameters);
        try {
            irr.setSafety(PromptSets.of(safety, safetyFormat, limit));
            if (calibration != null) {
                irr.setCalibration(PromptSets.of(calibration, calibrationFormat, limit));
            } else if (calibrationFormat != null) {
                throw usage("--calibration-format needs --calibration");
            }
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        var request = RunJobRequest.newBuilder().setOutputAdapter(outAdapter.strip()).setIrr(irr);
        if (model != null) {
            request.setModel(model);
        }
        if (outPath != null) {
            request.setOutputPath(outPath);
        }
        return request.build();
    }

    static void print(JobResult result, PrintWriter out) {
        var a = result.getAdapter();
        out.printf(Locale.ROOT, "registered %s v%d (%s, %s) on model %s in %.1f s%n", a.getName(), a.getVersion(),
                a.getKind(), a.getContentHash(), a.getModel(), result.getSeconds());
        JobStats s = result.getStats();
        out.printf(Locale.ROOT, "removed %d of %d entries (%.2f%%) in %d tensors; %d conflicted in sign with the "
                        + "safety vector%n", s.getRemoved(), s.getEntries(),
                s.getEntries() == 0 ? 0.0 : 100.0 * s.getRemoved() / s.getEntries(), s.getTensors(), s.getConflicting());
        if (!Double.isNaN(s.getMeanErrorAfter())) {
            out.printf(Locale.ROOT, "calibration output error per tensor (mean): removal alone %.4g, after "
                    + "recalibration %.4g%n", s.getMeanErrorRemoveOnly(), s.getMeanErrorAfter());
        }
        if (!result.getWrittenPath().isEmpty()) {
            out.println("wrote " + result.getWrittenPath() + " on the server");
        }
        out.flush();
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
