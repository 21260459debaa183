package dev.realign.server.jobs;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.api.v1.JobProgress;
import dev.realign.api.v1.JobResult;
import dev.realign.api.v1.JobStats;
import dev.realign.model.LoadedModel;
import dev.realign.model.Weights;
import dev.realign.realign.Cancellation;
import dev.realign.realign.Irr;
import dev.realign.realign.IrrInputs;
import dev.realign.realign.IrrProgress;
import dev.realign.realign.IrrResult;
import dev.realign.realign.IrrTensorStats;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs one validated IRR job on the calling (job) thread: folds both adapters into full deltas, runs {@link Irr}
 * in a native-memory scope of its own, and publishes the result ({@link JobResultPublisher}).
 */
final class IrrJobExecution {
    private final IrrJobPlan plan;
    private final JobOutputArea area;
    private final String jobId;

    IrrJobExecution(IrrJobPlan plan, JobOutputArea area, String jobId) {
        this.plan = plan;
        this.area = area;
        this.jobId = jobId;
    }

    JobPlan.Completed run(Consumer<JobProgress> progress, Cancellation cancellation) {
        JobTarget target = plan.target();
        LoadedModel model = target.entry().model();
        int layers = target.layers();
        // A base manager of its own: the job's arrays never mix with serving's scopes, and all of them are freed
        // when the job ends, however it ends.
        try (NDManager scope = NDManager.newBaseManager(Device.cpu())) {
            progress.accept(JobProgressEvents.stage("loading", layers, 0, ""));
            Weights aligned = model.weights();
            Map<String, NDArray> fineTuned = IrrInputs.deltasOf(plan.fineTuned().source(), scope);
            // W_u = W_a + delta_u
            Weights unaligned = aligned.withDeltas(IrrInputs.deltasOf(plan.unaligned().source(), scope), scope);
            IrrInputs inputs = new IrrInputs(aligned, fineTuned, unaligned,
                    plan.safety(), plan.calibration());
            cancellation.check();
            try (IrrResult result = new Irr(model.model()).run(inputs, plan.parameters(), scope,
                    p -> progress.accept(progressOf(p, layers)), cancellation)) {
                var published = JobResultPublisher.publish(target, area, jobId,
                        folder -> result.writeModel(aligned, model.directory(), folder, metadata()), progress,
                        cancellation);
                return new JobPlan.Completed(published.version(), JobResult.newBuilder().setStats(stats(result))
                        .setOutputMaxRelativeError(published.outputMaxRelativeError())
                        .setWrittenPath(published.wroteOutput() ? target.output().requested() : ""));
            }
        }
    }

    private Map<String, String> metadata() {
        var p = plan.parameters();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("realign.job", "irr");
        m.put("realign.job_id", jobId);
        m.put("realign.irr.fine_tuned", JobMetadata.adapter(plan.target(), plan.fineTuned()));
        m.put("realign.irr.unaligned", JobMetadata.adapter(plan.target(), plan.unaligned()));
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
}
