package dev.realign.client.cli;

import dev.realign.api.v1.JobResult;
import dev.realign.api.v1.OutputFormat;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.client.JobListener;
import dev.realign.client.RealignClient;
import java.io.PrintWriter;
import java.util.Locale;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * What every {@code jobs} kind asks the same way: the base model, the adapter the result is registered under,
 * the optional output folder and its format, and whether to draw progress; and how a job call is made and its
 * shared result lines printed.
 */
final class JobOutputOptions {
    /** {@code --out-format} values. */
    enum Format { FULL_DELTA, PEFT }

    @Option(names = "--model", paramLabel = "ID", description = "The aligned base model (default: the server's default).")
    String model;

    @Option(names = "--out-adapter", paramLabel = "NAME", required = true,
            description = "Register the result under this name (a new version if it exists).")
    String outAdapter;

    @Option(names = "--out-path", paramLabel = "DIR",
            description = "Also write the result here on the server, under your roots (a new folder).")
    String outPath;

    @Option(names = "--out-format", paramLabel = "FMT",
            description = "Format of --out-path: FULL_DELTA (exact model folder, the default) or PEFT (a LoRA "
                    + "adapter extracted by truncated SVD at --out-lora-rank).")
    Format outFormat;

    @Option(names = "--out-lora-rank", paramLabel = "R", converter = NonNegativeIntConverter.class,
            description = "LoRA rank of a PEFT --out-path (default: 16).")
    Integer outLoraRank;

    @Option(names = "--no-progress", description = "Do not draw the progress bar on stderr.")
    boolean noProgress;

    /** Sets the shared fields on {@code request}; usage errors name the option. */
    RunJobRequest.Builder applyTo(RunJobRequest.Builder request, CommandSpec spec) {
        request.setOutputAdapter(outAdapter.strip());
        if (model != null) {
            request.setModel(model);
        }
        if (outPath == null) {
            if (outFormat != null || outLoraRank != null) {
                throw new ParameterException(spec.commandLine(), "--out-format and --out-lora-rank need --out-path");
            }
            return request;
        }
        request.setOutputPath(outPath);
        if (outLoraRank != null && outFormat != Format.PEFT) {
            throw new ParameterException(spec.commandLine(), "--out-lora-rank is for --out-format PEFT");
        }
        if (outFormat == Format.PEFT) {
            request.setOutputFormat(OutputFormat.OUTPUT_FORMAT_PEFT_LORA);
            if (outLoraRank != null) {
                if (outLoraRank < 1) {
                    throw new ParameterException(spec.commandLine(), "--out-lora-rank must be >= 1, got "
                            + outLoraRank);
                }
                request.setOutputLoraRank(outLoraRank);
            }
        } else if (outFormat == Format.FULL_DELTA) {
            request.setOutputFormat(OutputFormat.OUTPUT_FORMAT_FULL_DELTA);
        }
        return request;
    }

    /** Runs the job with a progress bar (unless --no-progress); Ctrl-C cancels it on the server. */
    JobResult run(CliContext context, ConnectionOptions connection, RunJobRequest request) {
        var cancellation = new SweepCancellation();
        try (var onCtrlC = context.interrupts().onInterrupt(cancellation::interrupt);
             RealignClient client = context.connector().connect(connection.server(context),
                     connection.clientOptions(context))) {
            ReadinessWait.beforeCall(client, connection, context);
            try (var progress = noProgress ? null : new JobProgressBar(context.err())) {
                JobListener listener = progress != null ? progress : JobListener.NONE;
                return cancellation.await(client.runJob(request, listener));
            }
        }
    }

    /** The registered version's line. */
    static void printRegistered(JobResult result, PrintWriter out) {
        var a = result.getAdapter();
        out.printf(Locale.ROOT, "registered %s v%d (%s, %s) on model %s in %.1f s%n", a.getName(), a.getVersion(),
                a.getKind(), a.getContentHash(), a.getModel(), result.getSeconds());
    }

    /** The output folder's line, if one was written. */
    static void printWritten(JobResult result, PrintWriter out) {
        if (result.getWrittenPath().isEmpty()) {
            return;
        }
        if (result.getOutputMaxRelativeError() > 0) {
            out.printf(Locale.ROOT, "wrote %s on the server (PEFT LoRA, largest relative error %.4f)%n",
                    result.getWrittenPath(), result.getOutputMaxRelativeError());
        } else {
            out.println("wrote " + result.getWrittenPath() + " on the server");
        }
    }
}
