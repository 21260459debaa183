package dev.realign.server.jobs;

import dev.realign.api.v1.JobProgress;
import dev.realign.api.v1.PromptSet;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.api.v1.SomfJob;
import dev.realign.realign.Cancellation;
import dev.realign.realign.PreferencePair;
import dev.realign.realign.SomfMerge;
import dev.realign.realign.SomfParameters;
import dev.realign.safety.prompts.PreferenceExample;
import dev.realign.safety.prompts.PreferenceSets;
import dev.realign.safety.prompts.PromptSetException;
import dev.realign.safety.prompts.PromptSetFormat;
import dev.realign.safety.prompts.PromptSets;
import dev.realign.server.adapters.AdapterVersion;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.safety.PromptSetSource;
import dev.realign.server.tenancy.Tenant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A validated SOMF job: the target (whose served model is phi_safe, or with the safe adapter added), the fine-tuned
 * adapters (a reference to each version, and to the safe adapter's, held until the job ends), the tokenized
 * preference pairs and the parameters.
 */
record SomfJobPlan(JobTarget target, List<AdapterVersion> fineTuned, Optional<AdapterVersion> safeAdapter,
                   List<PreferencePair> pairs, SomfParameters parameters) implements JobPlan {
    /** Most preference pairs: each is two forwards per step it is drawn in and one for the reference. */
    static final int MAX_PAIRS = 4096;
    static final int MAX_ADAPTERS = 16;
    static final int MAX_STEPS = 100_000;
    static final int MAX_BATCH = 64;

    SomfJobPlan {
        fineTuned = List.copyOf(fineTuned);
        pairs = List.copyOf(pairs);
    }

    static SomfJobPlan of(RunJobRequest request, ModelRegistry models, Tenant tenant, PromptSetSource sets) {
        JobTarget target = JobRequests.target(request, models, tenant, "SOMF");
        SomfJob somf = request.getSomf();
        SomfParameters parameters = parameters(somf.getParameters());
        List<PreferencePair> pairs = pairs(somf.getPreferences(), target, tenant, sets);
        if (somf.getFineTunedCount() == 0) {
            throw JobRequests.invalid("somf.fine_tuned: name at least one loaded adapter to fuse");
        }
        if (somf.getFineTunedCount() > MAX_ADAPTERS) {
            throw JobRequests.invalid("somf.fine_tuned: " + somf.getFineTunedCount() + " adapters, at most "
                    + MAX_ADAPTERS);
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < somf.getFineTunedCount(); i++) {
            if (!seen.add(somf.getFineTuned(i))) {
                throw JobRequests.invalid("somf.fine_tuned[" + i + "]: '" + somf.getFineTuned(i) + "' is named twice");
            }
        }
        if (seen.contains(somf.getSafeAdapter())) {
            throw JobRequests.invalid("somf.safe_adapter: '" + somf.getSafeAdapter() + "' is also in fine_tuned");
        }
        List<AdapterVersion> retained = new ArrayList<>();
        AdapterVersion safe = null;
        try {
            for (int i = 0; i < somf.getFineTunedCount(); i++) {
                retained.add(JobRequests.retain(target, "somf.fine_tuned[" + i + "]", somf.getFineTuned(i)));
            }
            if (!somf.getSafeAdapter().isBlank()) {
                safe = JobRequests.retain(target, "somf.safe_adapter", somf.getSafeAdapter());
            }
            // the fused result changes every tensor of any task vector (and of the safe adapter)
            Set<String> changed = new HashSet<>();
            retained.forEach(v -> changed.addAll(v.source().targets()));
            if (safe != null) {
                changed.addAll(safe.source().targets());
            }
            JobRequests.checkPeftCarries(target, changed);
            return new SomfJobPlan(target, retained, Optional.ofNullable(safe), pairs, parameters);
        } catch (RuntimeException e) {
            retained.forEach(AdapterVersion::close);
            if (safe != null) {
                safe.close();
            }
            throw e;
        }
    }

    private static List<PreferencePair> pairs(PromptSet set, JobTarget target, Tenant tenant, PromptSetSource sets) {
        String field = "somf.preferences";
        if (!set.getFormat().isEmpty() && !set.getFormat().equals("jsonl")) {
            throw JobRequests.invalid(field + ".format: preference pairs are JSONL (prompt, chosen, rejected), got '"
                    + set.getFormat() + "'");
        }
        PromptSetSource.Resolved resolved = sets.resolve(field, set, tenant);
        if (resolved.format() != null && resolved.format() != PromptSetFormat.JSONL) {
            throw JobRequests.invalid(field + ".builtin: '" + set.getBuiltin() + "' is a " + resolved.format()
                    + " prompt set; preference pairs are JSONL (prompt, chosen, rejected)");
        }
        List<PreferenceExample> examples;
        try {
            examples = PreferenceSets.load(resolved.file());
        } catch (PromptSetException e) {
            throw JobRequests.invalid(field + ": " + e.getMessage());
        }
        examples = PromptSets.spread(examples, set.getLimit());
        if (examples.size() > MAX_PAIRS) {
            throw JobRequests.invalid(field + ": " + examples.size() + " pairs, at most " + MAX_PAIRS
                    + " (set limit to sample them)");
        }
        JobSequences sequences = new JobSequences(target.entry().model());
        return examples.stream().map(e -> sequences.pair(field, resolved.file(), e)).toList();
    }

    /** The request's parameters over {@link SomfParameters#DEFAULTS}; ranges checked with the field named. */
    static SomfParameters parameters(dev.realign.api.v1.SomfParameters p) {
        SomfParameters d = SomfParameters.DEFAULTS;
        long steps = p.hasSteps() ? Integer.toUnsignedLong(p.getSteps()) : d.steps();
        requireRange("steps", steps, 1, MAX_STEPS);
        double learningRate = p.hasLearningRate() ? p.getLearningRate() : d.learningRate();
        requireOpenClosed("learning_rate", learningRate, 0, 10);
        long batch = p.hasBatchSize() ? Integer.toUnsignedLong(p.getBatchSize()) : d.batchSize();
        requireRange("batch_size", batch, 1, MAX_BATCH);
        double temperature = p.hasTemperature() ? p.getTemperature() : d.temperature();
        requireOpenClosed("temperature", temperature, 0, 10);
        double beta = p.hasBeta() ? p.getBeta() : d.beta();
        requireOpenClosed("beta", beta, 0, 100);
        double initialLogit = p.hasInitialLogit() ? p.getInitialLogit() : d.initialLogit();
        if (!(initialLogit >= -20 && initialLogit <= 20)) {
            throw JobRequests.invalid("somf.parameters.initial_logit must be in [-20, 20], got " + initialLogit);
        }
        double scale = p.hasMergeScale() ? p.getMergeScale() : d.mergeScale();
        requireOpenClosed("merge_scale", scale, 0, 10);
        SomfMerge merge = switch (p.getMerge()) {
            case MERGE_METHOD_UNSPECIFIED, TASK_ARITHMETIC -> SomfMerge.TASK_ARITHMETIC;
            case TIES -> SomfMerge.TIES;
            case DARE_LINEAR -> SomfMerge.DARE;
            default -> throw JobRequests.invalid("somf.parameters.merge: " + p.getMerge() + " is not a SOMF fusion;"
                    + " use TASK_ARITHMETIC, TIES or DARE_LINEAR");
        };
        double density = p.hasMergeDensity() ? p.getMergeDensity() : d.mergeDensity();
        requireOpenClosed("merge_density", density, 0, 1);
        long seed = p.hasSeed() ? p.getSeed() : d.seed();
        return new SomfParameters(temperature, beta, (int) steps, learningRate, seed, (int) batch, initialLogit, scale,
                merge, density);
    }

    private static void requireRange(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw JobRequests.invalid("somf.parameters." + name + " must be in [" + min + ", " + max + "], got "
                    + value);
        }
    }

    private static void requireOpenClosed(String name, double value, double low, double high) {
        if (!(value > low && value <= high)) {
            throw JobRequests.invalid("somf.parameters." + name + " must be in (" + low + ", " + high + "], got "
                    + value);
        }
    }

    @Override
    public String kind() {
        return "somf";
    }

    @Override
    public String summary() {
        return "SOMF of " + fineTuned.stream().map(v -> "'" + target.tenant().unqualify(v.name()) + "'").toList();
    }

    @Override
    public Completed run(JobOutputArea area, String jobId, Consumer<JobProgress> progress, Cancellation cancellation) {
        return new SomfJobExecution(this, area, jobId).run(progress, cancellation);
    }

    @Override
    public void close() {
        fineTuned.forEach(AdapterVersion::close);
        safeAdapter.ifPresent(AdapterVersion::close);
    }
}
