package dev.realign.server.jobs;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.api.v1.JobProgress;
import dev.realign.api.v1.JobStats;
import dev.realign.model.LoadedModel;
import dev.realign.model.Weights;
import dev.realign.realign.Cancellation;
import dev.realign.realign.Irr;
import dev.realign.realign.IrrInputs;
import dev.realign.realign.IrrProgress;
import dev.realign.realign.IrrResult;
import dev.realign.realign.IrrTensorStats;
import dev.realign.server.adapters.AdapterVersion;
import dev.realign.server.adapters.UploadSpool;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Runs one validated IRR job on the calling (job) thread: folds both adapters into full deltas, runs {@link Irr}
 * in a native-memory scope of its own, writes the result folder into the job's private folder (and to the
 * requested output path), and registers it as the LAST step. Anything that fails or is cancelled before the
 * registration leaves no folder behind and registers nothing.
 */
final class IrrJobExecution {
    /** What a successful run produced. */
    record Outcome(AdapterVersion version, boolean wroteOutputPath, JobStats stats) {}

    private final IrrJobPlan plan;
    private final JobOutputArea area;
    private final String jobId;

    IrrJobExecution(IrrJobPlan plan, JobOutputArea area, String jobId) {
        this.plan = plan;
        this.area = area;
        this.jobId = jobId;
    }

    Outcome run(Consumer<JobProgress> progress, Cancellation cancellation) {
        LoadedModel model = plan.entry().model();
        int layers = model.config().numLayers();
        Path folder = null;
        boolean wroteOutput = false;
        // A base manager of its own: the job's arrays never mix with serving's scopes, and all of them are freed
        // when the job ends, however it ends.
        try (NDManager scope = NDManager.newBaseManager(Device.cpu())) {
            progress.accept(stage("loading", layers, 0, ""));
            Weights aligned = model.weights();
            Map<String, NDArray> fineTuned = IrrInputs.deltasOf(plan.fineTuned().source(), scope);
            Map<String, NDArray> unalignedTensors = new LinkedHashMap<>();
            for (var e : IrrInputs.deltasOf(plan.unaligned().source(), scope).entrySet()) {
                NDArray w = aligned.tensor(e.getKey()).add(e.getValue()); // W_u = W_a + delta_u
                w.attach(scope);
                unalignedTensors.put(e.getKey(), w);
            }
            IrrInputs inputs = new IrrInputs(aligned, fineTuned, aligned.withOverrides(unalignedTensors),
                    plan.safety(), plan.calibration());
            cancellation.check();
            try (IrrResult result = new Irr(model.model()).run(inputs, plan.parameters(), scope,
                    p -> progress.accept(progressOf(p, layers)), cancellation)) {
                cancellation.check();
                progress.accept(stage("writing", layers, 0, ""));
                Map<String, String> metadata = metadata();
                folder = area.newFolder(jobId);
                Path served = result.writeModel(aligned, model.directory(), folder.resolve("model"), metadata);
                if (plan.outputPath() != null) {
                    wroteOutput = true; // from here a failure must remove the output folder too
                    copyFolder(served, plan.outputPath()); // the bytes just written, not a second merge
                }
                JobStats stats = stats(result);
                cancellation.check(); // the last point a cancel is honoured: registration is not undone
                progress.accept(stage("registering", layers, 0, ""));
                Path owned = folder;
                AdapterVersion version = plan.entry().adapters().load(plan.outputName(), served,
                        () -> area.delete(owned));
                return new Outcome(version, wroteOutput, stats);
            }
        } catch (RuntimeException | Error e) {
            if (folder != null) {
                area.delete(folder);
            }
            if (wroteOutput) {
                UploadSpool.deleteTree(plan.outputPath());
            }
            throw e;
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

    private Map<String, String> metadata() {
        var p = plan.parameters();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("realign.job", "irr");
        m.put("realign.job_id", jobId);
        m.put("realign.irr.fine_tuned", plan.tenant().unqualify(plan.fineTuned().name()) + "@"
                + plan.fineTuned().source().contentHash());
        m.put("realign.irr.unaligned", plan.tenant().unqualify(plan.unaligned().name()) + "@"
                + plan.unaligned().source().contentHash());
        m.put("realign.irr.parameters", String.format(Locale.ROOT,
                "sparsity=%s block_size=%d damp=%s remove_only=%b remove_more=%b fisher_batch_size=%d",
                p.sparsity(), p.blockSize(), p.dampFraction(), p.removeOnly(), p.removeMore(), p.fisherBatchSize()));
        m.put("realign.irr.sequences", "safety=" + plan.safety().size() + " calibration=" + plan.calibration().size());
        return m;
    }

    static JobStats stats(IrrResult result) {
        long entries = 0;
        double before = 0;
        double after = 0;
        for (IrrTensorStats s : result.stats().values()) {
            entries += s.entries();
            before += s.errorRemoveOnly();
            after += s.errorAfter();
        }
        int n = result.stats().size();
        return JobStats.newBuilder().setRemoved(result.removed()).setConflicting(result.conflicting())
                .setEntries(entries).setTensors(n)
                .setMeanErrorRemoveOnly(n == 0 ? Double.NaN : before / n)
                .setMeanErrorAfter(n == 0 ? Double.NaN : after / n).build();
    }

    private static JobProgress progressOf(IrrProgress p, int layers) {
        return JobProgress.newBuilder().setStage(p.stage().name().toLowerCase(Locale.ROOT)).setLayer(p.layer())
                .setLayers(layers).setTensor(p.tensor() == null ? "" : p.tensor()).setFraction(p.fraction()).build();
    }

    static JobProgress stage(String stage, int layers, double fraction, String detail) {
        return JobProgress.newBuilder().setStage(stage).setLayer(-1).setLayers(layers).setFraction(fraction)
                .setDetail(detail).build();
    }
}
