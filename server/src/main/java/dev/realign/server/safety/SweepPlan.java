package dev.realign.server.safety;

import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.SamplingParams;
import dev.realign.api.v1.SweepRequest;
import dev.realign.merge.ProfileKey;
import dev.realign.safety.RefusalDetector;
import dev.realign.safety.RefusalDetectors;
import dev.realign.safety.prompts.LabeledPrompt;
import dev.realign.safety.prompts.PromptSetException;
import dev.realign.safety.prompts.TaskScoring;
import dev.realign.server.grpc.GenerateRequestMapper;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.tenancy.Tenant;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A validated sweep: every point's profile resolved and allowed, every prompt loaded and tokenized. All of it
 * happens before the first token is generated, so a typo in the last ratio or line 4,812 of a set fails at
 * once with INVALID_ARGUMENT (or NOT_FOUND, PERMISSION_DENIED) naming the field.
 *
 * @param harmful prompts whose refusal rate is measured
 * @param task    prompts scored against their references
 * @param benign  prompts whose refusal rate is the over-refusal rate; empty when the request named no set
 */
record SweepPlan(ModelRegistry.Entry entry, Tenant tenant, List<Point> points, List<Prompt> harmful,
                 List<Prompt> task, List<Prompt> benign, RefusalDetector detector, TaskScoring scoring,
                 double refusalFloor) {
    /** Most points one sweep may ask for (methods x ratios). */
    static final int MAX_POINTS = 1024;

    /** One (method, ratio) of the grid and the profile that serves it. */
    record Point(MergeMethod method, double ratio, ProfileKey key) {
        String label() {
            return String.format(Locale.ROOT, "%s r=%.2f", method.name(), ratio);
        }
    }

    /** A prompt ready for the scheduler. */
    record Prompt(LabeledPrompt source, GenerateRequestMapper.Mapped mapped) {
    }

    int promptsPerPoint() {
        return harmful.size() + task.size() + benign.size();
    }

    static SweepPlan of(SweepRequest request, ModelRegistry models, Tenant tenant, RefusalDetectors detectors,
                        PromptSetSource sets) {
        ModelRegistry.Entry entry = models.resolve(request.getModel());
        if (request.getAdaptersCount() == 0) {
            throw invalid("adapters: name at least one adapter to sweep");
        }
        if (request.getMethodsCount() == 0) {
            throw invalid("methods: name at least one merge method");
        }
        if (request.getRatiosCount() == 0) {
            throw invalid("ratios: give at least one ratio");
        }
        if ((long) request.getMethodsCount() * request.getRatiosCount() > MAX_POINTS) {
            throw invalid("methods x ratios: " + request.getMethodsCount() + " x " + request.getRatiosCount()
                    + " points, at most " + MAX_POINTS);
        }
        double floor = request.getRefusalFloor();
        if (!(floor >= 0 && floor <= 1)) {
            throw invalid("refusal_floor must be in [0, 1], got " + floor);
        }
        TaskScoring scoring;
        try {
            scoring = TaskScoring.named(request.getTaskScoring());
        } catch (IllegalArgumentException e) {
            throw invalid("task_scoring: " + e.getMessage());
        }
        RefusalDetector detector;
        try {
            detector = detectors.get(request.getDetector());
        } catch (IllegalArgumentException e) {
            throw invalid("detector: " + e.getMessage());
        }
        List<Point> points = points(request, entry, tenant);

        var harmful = sets.load("harmful", request.getHarmful(), tenant, PromptSetSource.Role.HARMFUL);
        var task = sets.load("task", request.getTask(), tenant, PromptSetSource.Role.TASK);
        try {
            scoring.check(task.file(), task.prompts());
        } catch (PromptSetException e) {
            throw invalid("task: " + e.getMessage());
        }
        List<Prompt> benign = request.hasBenign()
                ? prepare("benign", sets.load("benign", request.getBenign(), tenant, PromptSetSource.Role.BENIGN),
                        request.getSampling(), entry, tenant)
                : List.of();
        return new SweepPlan(entry, tenant, points, prepare("harmful", harmful, request.getSampling(), entry, tenant),
                prepare("task", task, request.getSampling(), entry, tenant), benign, detector, scoring, floor);
    }

    private static List<Point> points(SweepRequest request, ModelRegistry.Entry entry, Tenant tenant) {
        Set<MergeMethod> seen = new HashSet<>();
        List<Point> points = new ArrayList<>();
        for (int m = 0; m < request.getMethodsCount(); m++) {
            MergeMethod method = request.getMethods(m);
            if (method == MergeMethod.MERGE_METHOD_UNSPECIFIED || method == MergeMethod.UNRECOGNIZED) {
                throw invalid("methods[" + m + "]: name a merge method");
            }
            if (!seen.add(method)) {
                throw invalid("methods[" + m + "]: " + method.name() + " is listed twice");
            }
            for (int r = 0; r < request.getRatiosCount(); r++) {
                double ratio = request.getRatios(r);
                if (!Double.isFinite(ratio) || ratio < 0) {
                    throw invalid("ratios[" + r + "] must be a finite number >= 0, got " + ratio);
                }
                ProfileKey key;
                MergeProfile profile;
                try {
                    profile = SweepProfiles.at(method, request.getAdaptersList(), ratio);
                } catch (IllegalArgumentException e) {
                    throw invalid("methods[" + m + "]: " + e.getMessage());
                }
                try {
                    key = entry.merges().resolve(profile, tenant);
                    tenant.checkProfile(key);
                } catch (StatusRuntimeException e) {
                    throw e.getStatus().withDescription("methods[" + m + "] " + method.name() + " at ratios[" + r
                            + "] = " + ratio + ": " + e.getStatus().getDescription()).asRuntimeException();
                }
                points.add(new Point(method, ratio, key));
            }
        }
        return points;
    }

    /**
     * Tokenizes each prompt once for the whole sweep: as a user turn through the model's chat template when it
     * has one (how chat models are evaluated), as plain text otherwise. Sampling is greedy unless the request
     * sets a temperature, as in the papers' evaluations.
     */
    private static List<Prompt> prepare(String field, PromptSetSource.Loaded set, SamplingParams sampling,
                                        ModelRegistry.Entry entry, Tenant tenant) {
        SamplingParams effective = sampling.hasTemperature() ? sampling : sampling.toBuilder().setTemperature(0).build();
        boolean chat = entry.model().chatTemplate().isPresent();
        List<Prompt> prompts = new ArrayList<>(set.prompts().size());
        for (LabeledPrompt p : set.prompts()) {
            GenerateRequest.Builder request = ChatPrompts.userTurn(p.prompt(), chat).setSampling(effective);
            try {
                GenerateRequestMapper.Mapped mapped = GenerateRequestMapper.map(request.build(), entry.model());
                prompts.add(new Prompt(p, mapped.withMaxTokens(tenant.checkMaxTokens(
                        Integer.toUnsignedLong(effective.getMaxTokens()), mapped.sampling().maxTokens()))));
            } catch (StatusRuntimeException e) {
                throw e.getStatus().withDescription(field + ": " + set.file().getFileName() + " line " + p.line()
                        + ": " + e.getStatus().getDescription()).asRuntimeException();
            }
        }
        return prompts;
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}
