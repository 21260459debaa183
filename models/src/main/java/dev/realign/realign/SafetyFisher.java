package dev.realign.realign;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.realign.model.LlamaModel;
import dev.realign.model.Weights;
import dev.realign.train.CausalLmLoss;
import dev.realign.train.TrainingSequence;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * IRR's safety importance: the diagonal (empirical) Fisher of the aligned model's weights on safety data,
 * F = mean over batches of (d L_b / d W)^2, where L_b is the mean NLL of the safe answers' tokens in batch b
 * (prompt tokens carry no loss), computed through the engine's own forward ({@link CausalLmLoss}) with DJL
 * autograd.
 *
 * <p>With batches of one sequence (the default) this squares each sequence's gradient, the textbook empirical
 * Fisher. The authors' {@code compute_fisher_information_matrix.py} squares the gradient of the mean token loss of
 * each batch of 8 padded sequences and divides by the number of batches; {@link IrrParameters#fisherBatchSize()}
 * reproduces that (our batches are not padded, so the mean is over the same answer tokens).
 *
 * <p>Only the requested tensors get gradients: each batch differentiates fresh fp32 leaf copies of them (as
 * {@code TrainableWeights#bind} does), so nothing accumulates across batches inside autograd.
 */
public final class SafetyFisher {
    private final LlamaModel model;
    private final int batchSize;

    public SafetyFisher(LlamaModel model, int batchSize) {
        if (model.matrixType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("the safety Fisher needs an fp32 model, got " + model.matrixType());
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
        this.model = model;
        this.batchSize = batchSize;
    }

    /**
     * @param aligned  the aligned model's weights (fp32)
     * @param targets  tensor names to compute the Fisher of
     * @param safety   harmful prompts with the aligned model's safe answers
     * @param owner    the manager the returned arrays belong to
     * @param progress told the number of batches done after each batch
     * @return per target, fp32 with the tensor's shape, in {@code targets}' order
     */
    public Map<String, NDArray> compute(Weights aligned, Collection<String> targets, List<TrainingSequence> safety,
                                        NDManager owner, IntConsumer progress, Cancellation cancellation) {
        if (safety.isEmpty()) {
            throw new IllegalArgumentException("the safety Fisher needs at least one safety sequence");
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("no target tensors for the safety Fisher");
        }
        Map<String, NDArray> sums = new LinkedHashMap<>();
        for (String name : targets) {
            NDArray tensor = aligned.tensor(name);
            if (tensor.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("tensor '" + name + "' is " + tensor.getDataType()
                        + "; the safety Fisher needs fp32 weights (load the model with dtype f32)");
            }
            sums.put(name, owner.zeros(tensor.getShape(), DataType.FLOAT32));
        }
        int batches = 0;
        for (int from = 0; from < safety.size(); from += batchSize) {
            cancellation.check();
            List<TrainingSequence> batch = safety.subList(from, Math.min(safety.size(), from + batchSize));
            accumulate(aligned, batch, sums, owner);
            batches++;
            progress.accept(batches);
        }
        for (NDArray sum : sums.values()) {
            sum.divi(batches);
        }
        return sums;
    }

    /** Adds one batch's squared gradients to {@code sums}. */
    private void accumulate(Weights aligned, List<TrainingSequence> batch, Map<String, NDArray> sums, NDManager owner) {
        try (NDManager scope = owner.newSubManager()) {
            Map<String, NDArray> leaves = new LinkedHashMap<>();
            for (String name : sums.keySet()) {
                NDArray leaf = aligned.tensor(name).duplicate();
                leaf.attach(scope);
                leaf.setRequiresGradient(true);
                leaves.put(name, leaf);
            }
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                collector.backward(CausalLmLoss.loss(model, aligned.withOverrides(leaves), batch, scope));
            }
            List<NDArray> squares = new ArrayList<>(leaves.size());
            for (var e : leaves.entrySet()) {
                NDArray square = e.getValue().getGradient().square();
                if (!Float.isFinite(square.sum().getFloat())) {
                    throw new IllegalStateException("the safety Fisher's gradient of " + e.getKey() + " is not finite"
                            + " for the batch of " + batch.size() + " sequences starting with "
                            + batch.getFirst().tokens().length + " tokens (the aligned model's weights or the safety"
                            + " data overflow fp32)");
                }
                squares.add(square);
            }
            int i = 0;
            for (NDArray sum : sums.values()) {
                sum.addi(squares.get(i++));
            }
        }
    }
}
