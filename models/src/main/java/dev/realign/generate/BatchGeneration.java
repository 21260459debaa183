package dev.realign.generate;

import ai.djl.ndarray.NDManager;
import dev.realign.model.KvCache;
import dev.realign.model.LlamaModel;
import dev.realign.model.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Offline generation over many prompts at once (evaluation, sweeps, realignment data): prompts run in
 * batches that step together through {@link DecodeStep}, each sequence until its end token or the limit.
 * Serving goes through the server's scheduler instead; this is the same engine without the network.
 */
public final class BatchGeneration {
    private final DecodeStep step;
    private final Set<Integer> endTokens;
    private final int batchSize;

    public BatchGeneration(LlamaModel model, Set<Integer> endTokens, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }
        this.step = new DecodeStep(model);
        this.endTokens = Set.copyOf(endTokens);
        this.batchSize = batchSize;
    }

    /**
     * @return per prompt, the generated token ids without the end token, in prompt order
     */
    public List<int[]> generate(Weights weights, List<int[]> prompts, SamplingParams params, NDManager parent) {
        List<int[]> outputs = new ArrayList<>(prompts.size());
        for (int from = 0; from < prompts.size(); from += batchSize) {
            outputs.addAll(generateBatch(weights, prompts.subList(from, Math.min(prompts.size(), from + batchSize)),
                    params, parent));
        }
        return outputs;
    }

    private List<int[]> generateBatch(Weights weights, List<int[]> prompts, SamplingParams params, NDManager parent) {
        int capacityLimit = weights.config().maxPositions();
        List<Sequence> sequences = new ArrayList<>(prompts.size());
        List<List<Integer>> tokens = new ArrayList<>(prompts.size());
        try (NDManager batch = parent.newSubManager()) {
            for (int[] prompt : prompts) {
                int capacity = Math.min(capacityLimit, prompt.length + params.maxTokens());
                sequences.add(new Sequence(prompt, new KvCache(weights.config(), capacity, batch), params,
                        TextStream.NONE, endTokens));
                tokens.add(new ArrayList<>());
            }
            List<Integer> running = new ArrayList<>();
            for (int i = 0; i < sequences.size(); i++) {
                running.add(i);
            }
            while (!running.isEmpty()) {
                List<Sequence> active = running.stream().map(sequences::get).toList();
                List<StepOutput> out = step.run(weights, active, batch);
                List<Integer> next = new ArrayList<>(running.size());
                for (int j = 0; j < out.size(); j++) {
                    int index = running.get(j);
                    StepOutput o = out.get(j);
                    if (!endTokens.contains(o.tokenId())) {
                        tokens.get(index).add(o.tokenId());
                    }
                    if (!o.finished()) {
                        next.add(index);
                    }
                }
                running = next;
            }
        } finally {
            sequences.forEach(Sequence::close);
        }
        return tokens.stream().map(list -> list.stream().mapToInt(Integer::intValue).toArray()).toList();
    }
}
