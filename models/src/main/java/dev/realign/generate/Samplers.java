package dev.realign.generate;

/** The explicit registry of samplers: which one a request's parameters select. */
public final class Samplers {
    private Samplers() {}

    public static Sampler forParams(SamplingParams params) {
        if (params.isGreedy()) {
            return new GreedySampler();
        }
        return new TemperatureSampler(params.temperature(), params.topK(), params.topP());
    }
}
