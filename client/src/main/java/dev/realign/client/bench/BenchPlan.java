package dev.realign.client.bench;

import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.SamplingParams;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a load run sends and when it stops. Either bound may be absent but not both, so a run always ends
 * by itself: {@code requests} caps how many are started, {@code duration} stops starting new ones.
 *
 * @param concurrency streams kept in flight at once
 * @param requests    requests to start in all (0 = no count bound; then {@code duration} is required)
 * @param duration    stop starting requests after this long (null = no time bound)
 * @param warmup      requests run first and left out of the report (JIT, caches, merged profiles)
 * @param prompts     sent round-robin, request i gets prompt i mod size
 * @param maxTokens   new tokens per request (0 = the server's default)
 * @param temperature sampling temperature, or null for the server's default
 * @param model       base model id, or null for the server's default
 * @param adapters    adapter names; empty = the base model, no profile
 * @param ratios      merge ratios (the adapter's weight); ignored without adapters
 * @param method      merge method, or null for the server's default (linear)
 */
public record BenchPlan(int concurrency, int requests, Duration duration, int warmup, List<String> prompts,
        int maxTokens, Double temperature, String model, List<String> adapters, List<Double> ratios,
        MergeMethod method) {

    public BenchPlan {
        prompts = List.copyOf(Objects.requireNonNull(prompts, "prompts"));
        adapters = List.copyOf(Objects.requireNonNull(adapters, "adapters"));
        ratios = List.copyOf(Objects.requireNonNull(ratios, "ratios"));
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
        }
        if (requests < 0) {
            throw new IllegalArgumentException("requests must be at least 0, got " + requests);
        }
        if (requests == 0 && duration == null) {
            throw new IllegalArgumentException("give a request count, a duration, or both: the run must end");
        }
        if (duration != null && (duration.isNegative() || duration.isZero())) {
            throw new IllegalArgumentException("duration must be positive, got " + duration);
        }
        if (warmup < 0) {
            throw new IllegalArgumentException("warmup must be at least 0, got " + warmup);
        }
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("at least one prompt is needed");
        }
        if (maxTokens < 0) {
            throw new IllegalArgumentException("maxTokens must be at least 0, got " + maxTokens);
        }
        if (adapters.isEmpty() && (!ratios.isEmpty() || method != null)) {
            throw new IllegalArgumentException("ratios and a method need at least one adapter");
        }
        if (!adapters.isEmpty() && ratios.isEmpty()) {
            // One adapter at ratio 1 is the fine-tuned model, the plain meaning of "serve this adapter".
            ratios = List.of(1.0);
        }
        for (double ratio : ratios) {
            if (!Double.isFinite(ratio)) {
                throw new IllegalArgumentException("ratios must be finite numbers, got " + ratio);
            }
        }
    }

    /** The number of distinct (adapter, ratio) pairs a run cycles through; 1 for the base model. */
    public int profileCount() {
        return adapters.isEmpty() ? 1 : adapters.size() * ratios.size();
    }

    /**
     * The i-th request. Profiles go round-robin over every (adapter, ratio) pair, adapters varying fastest,
     * so consecutive requests hit different adapters and every pair comes up once per cycle (a plain
     * i mod A, i mod R pairing would skip pairs whenever A and R share a factor).
     */
    public GenerateRequest request(long i) {
        var request = GenerateRequest.newBuilder().setPrompt(prompts.get((int) (i % prompts.size())));
        if (model != null) {
            request.setModel(model);
        }
        var sampling = SamplingParams.newBuilder().setMaxTokens(maxTokens);
        if (temperature != null) {
            sampling.setTemperature(temperature);
        }
        request.setSampling(sampling);
        if (!adapters.isEmpty()) {
            int pair = (int) (i % profileCount());
            var profile = MergeProfile.newBuilder().addAdapters(AdapterWeight.newBuilder()
                    .setName(adapters.get(pair % adapters.size()))
                    .setWeight(ratios.get(pair / adapters.size())));
            if (method != null) {
                profile.setMethod(method);
            }
            request.setProfile(profile);
        }
        return request.build();
    }
}
