package dev.realign.server.jobs;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.api.v1.JobProgress;
import dev.realign.api.v1.JobResult;
import dev.realign.api.v1.SomfStats;
import dev.realign.model.LoadedModel;
import dev.realign.model.Weights;
import dev.realign.realign.Cancellation;
import dev.realign.realign.IrrInputs;
import dev.realign.realign.Somf;
import dev.realign.realign.SomfInputs;
import dev.realign.realign.SomfParameters;
import dev.realign.realign.SomfProgress;
import dev.realign.realign.SomfResult;
import dev.realign.server.adapters.AdapterVersion;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs one validated SOMF job on the calling (job) thread: folds each adapter into its task vector (a full delta),
 * trains the mask ({@link Somf}) in a native-memory scope of its own, and publishes the fused model
 * ({@link JobResultPublisher}).
 */
final class SomfJobExecution {
    private final SomfJobPlan plan;
    private final JobOutputArea area;
    private final String jobId;

    SomfJobExecution(SomfJobPlan plan, JobOutputArea area, String jobId) {
        this.plan = plan;
        this.area = area;
        this.jobId = jobId;
    }

    JobPlan.Completed run(Consumer<JobProgress> progress, Cancellation cancellation) {
        JobTarget target = plan.target();
        LoadedModel model = target.entry().model();
        int layers = target.layers();
        try (NDManager scope = NDManager.newBaseManager(Device.cpu())) {
            progress.accept(JobProgressEvents.stage("loading", layers, 0, ""));
            Map<String, NDArray> safeDelta = plan.safeAdapter().isPresent()
                    ? IrrInputs.deltasOf(plan.safeAdapter().get().source(), scope) : Map.of();
            Weights safe = model.weights().withDeltas(safeDelta, scope);
            List<Map<String, NDArray>> taskVectors = new ArrayList<>();
            for (AdapterVersion adapter : plan.fineTuned()) {
                taskVectors.add(taskVector(IrrInputs.deltasOf(adapter.source(), scope), safeDelta, scope));
                cancellation.check();
            }
            SomfInputs inputs = new SomfInputs(safe, taskVectors, plan.pairs());
            try (SomfResult result = new Somf(model.model()).run(inputs, plan.parameters(), scope,
                    p -> progress.accept(progressOf(p, layers)), cancellation)) {
                // phi_safe + the fused vectors; the safe adapter's own changes are in `safe` and written too
                var published = JobResultPublisher.publish(target, area, jobId,
                        folder -> result.writeModel(safe, model.directory(), folder, metadata()),
                        progress, cancellation);
                return new JobPlan.Completed(published.version(), JobResult.newBuilder().setSomfStats(stats(result))
                        .setOutputMaxRelativeError(published.outputMaxRelativeError())
                        .setWrittenPath(published.wroteOutput() ? target.output().requested() : ""));
            }
        }
    }

    /**
     * tau_i = phi_i - phi_safe = delta_i - delta_safe over the tensors either changes (both are deltas of the served
     * model); without a safe adapter, delta_i itself.
     */
    private static Map<String, NDArray> taskVector(Map<String, NDArray> delta, Map<String, NDArray> safeDelta,
                                                   NDManager scope) {
        if (safeDelta.isEmpty()) {
            return delta;
        }
        Map<String, NDArray> tau = new LinkedHashMap<>(delta);
        safeDelta.forEach((name, s) -> {
            NDArray t = delta.containsKey(name) ? delta.get(name).sub(s) : s.neg();
            t.attach(scope);
            tau.put(name, t);
        });
        return tau;
    }

    private Map<String, String> metadata() {
        SomfParameters p = plan.parameters();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("realign.job", "somf");
        m.put("realign.job_id", jobId);
        m.put("realign.somf.fine_tuned", String.join(",",
                plan.fineTuned().stream().map(v -> JobMetadata.adapter(plan.target(), v)).toList()));
        m.put("realign.somf.parameters", String.format(Locale.ROOT,
                "steps=%d learning_rate=%s batch_size=%d temperature=%s beta=%s initial_logit=%s seed=%d "
                        + "merge_scale=%s merge=%s merge_density=%s", p.steps(), p.learningRate(), p.batchSize(),
                p.temperature(), p.beta(), p.initialLogit(), p.seed(), p.mergeScale(), p.merge(), p.mergeDensity()));
        plan.safeAdapter().ifPresent(v -> m.put("realign.somf.safe_adapter", JobMetadata.adapter(plan.target(), v)));
        m.put("realign.somf.pairs", Integer.toString(plan.pairs().size()));
        return m;
    }

    static SomfStats stats(SomfResult result) {
        long entries = result.mask().values().stream().mapToLong(NDArray::size).sum();
        List<Double> losses = result.lossHistory();
        int tail = Math.max(1, losses.size() / 10);
        double finalLoss = losses.subList(losses.size() - tail, losses.size()).stream()
                .mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        return SomfStats.newBuilder().setDensity(result.density()).setTensors(result.mask().size())
                .setEntries(entries).setFirstLoss(losses.getFirst()).setLastLoss(losses.getLast())
                .setFinalLoss(finalLoss).build();
    }

    private static JobProgress progressOf(SomfProgress p, int layers) {
        return JobProgress.newBuilder().setStage(p.stage().name().toLowerCase(Locale.ROOT)).setLayer(-1)
                .setLayers(layers).setFraction(p.fraction()).setStep(p.step()).setSteps(p.steps())
                .setLoss(Double.isNaN(p.loss()) ? 0 : p.loss()).build();
    }
}
