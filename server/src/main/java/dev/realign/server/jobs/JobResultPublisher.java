package dev.realign.server.jobs;

import ai.djl.ndarray.NDManager;
import dev.realign.api.v1.JobProgress;
import dev.realign.api.v1.OutputFormat;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.LoraExtractor;
import dev.realign.model.LoadedModel;
import dev.realign.realign.Cancellation;
import dev.realign.server.adapters.AdapterVersion;
import dev.realign.server.adapters.UploadSpool;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The last steps every job shares: write the result's full-delta folder into the job's private folder, write the
 * requested output folder (a copy of those bytes, or a PEFT LoRA extracted from them), and register the result as
 * the LAST step. Anything that fails or is cancelled before the registration removes both folders.
 */
final class JobResultPublisher {
    /**
     * @param version                   the registered version
     * @param wroteOutput               whether the output folder was written
     * @param outputMaxRelativeError    for a PEFT output, the largest relative error of its projections; else 0
     */
    record Published(AdapterVersion version, boolean wroteOutput, double outputMaxRelativeError) {}

    private JobResultPublisher() {}

    /**
     * @param writer writes the result as a Hugging Face folder at the path it is given and returns that folder
     */
    static Published publish(JobTarget target, JobOutputArea area, String jobId, UnaryOperator<Path> writer,
                             Consumer<JobProgress> progress, Cancellation cancellation) {
        Path folder = null;
        boolean wroteOutput = false;
        try {
            cancellation.check();
            progress.accept(JobProgressEvents.stage("writing", target.layers(), 0, ""));
            folder = area.newFolder(jobId);
            Path served = writer.apply(folder.resolve("model"));
            double outputError = 0;
            JobOutput output = target.output();
            if (output != null) {
                wroteOutput = true; // from here a failure must remove the output folder too
                if (output.format() == OutputFormat.OUTPUT_FORMAT_PEFT_LORA) {
                    outputError = writePeft(target, served, output);
                } else {
                    copyFolder(served, output.path()); // the bytes just written, not a second merge
                }
            }
            cancellation.check(); // the last point a cancel is honoured: registration is not undone
            progress.accept(JobProgressEvents.stage("registering", target.layers(), 0, ""));
            Path owned = folder;
            AdapterVersion version = target.entry().adapters().load(target.outputName(), served,
                    () -> area.delete(owned));
            return new Published(version, wroteOutput, outputError);
        } catch (RuntimeException | Error e) {
            if (folder != null) {
                area.delete(folder);
            }
            if (wroteOutput) {
                UploadSpool.deleteTree(target.output().path());
            }
            throw e;
        }
    }

    /**
     * A PEFT LoRA of the written result against the served base: the projections by truncated SVD at the asked
     * rank, every other changed tensor (norms, biases, embeddings) whole, as modules_to_save.
     *
     * @return the largest relative error over the projections
     */
    private static double writePeft(JobTarget target, Path served, JobOutput output) {
        LoadedModel base = target.entry().model();
        try (DeltaSource result = Adapters.load("result", served, base);
             NDManager scratch = base.manager().newSubManager()) {
            Set<String> whole = result.targets().stream().filter(t -> !LoraExtractor.isLinearTarget(t))
                    .collect(Collectors.toSet());
            LoraExtractor.Result lora = LoraExtractor.extract(result, base.weights(), whole,
                    LoraExtractor.Options.rank(output.loraRank()), scratch);
            lora.write(output.path(), base.id());
            return lora.maxRelativeError();
        }
    }

    /** Copies the written result folder (flat: model files only) into the caller's output folder. */
    private static void copyFolder(Path from, Path to) {
        try {
            Files.createDirectories(to);
            try (Stream<Path> files = Files.list(from)) {
                for (Path file : files.toList()) {
                    Files.copy(file, to.resolve(file.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            throw Status.UNAVAILABLE.withDescription("output_path " + to + ": cannot write the result: "
                    + e.getMessage()).asRuntimeException();
        }
    }
}
