package dev.realign.realign;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.realign.model.LlamaModel;
import dev.realign.train.AdamW;
import dev.realign.train.OptimizerSettings;
import dev.realign.train.TrainableParameter;
import dev.realign.train.TrainingSequence;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * SOMF, subspace-oriented model fusion (Yi et al. 2024, arXiv 2405.09055): learn one concrete mask over the task
 * vectors tau_i = phi_i - phi_safe with a DPO loss on safety preference pairs, only the mask logits trainable,
 * and serve phi_safe + lambda * Merge_i(tau_i * m_bin / mean(m_bin)) with a binary draw of the mask (Merge: task
 * arithmetic, TIES or DARE, {@link SomfMerge}).
 *
 * <p>Where the task vectors live: on the full delta of each changed tensor (a LoRA adapter folded to
 * scale * B @ A, as IRR reads it), not on the LoRA factors A and B as in the authors' code. Masking the product
 * is the quantity the served model actually changes by, works the same for full fine-tunes and LoRA, and keeps
 * the all-ones invariant exact; the price is one logit per weight entry instead of per factor entry.
 *
 * <p>Reference model: the unmasked fusion phi_safe + lambda * Merge_i(tau_i), for one adapter at lambda 1 the
 * fine-tuned model itself. As in standard DPO, the reference is the frozen policy the optimisation starts from:
 * the masked model equals it in expectation at the start (m / mean(m) has mean about 1 per tensor), so the loss
 * starts at log 2 and measures only what the mask changes. With phi_safe as the reference the starting margin
 * would already contain the fine-tune's whole drift from the safe model, and DPO's implicit KL term would pull the
 * mask towards phi_safe's likelihoods on every token, a pull that is the mask's trade-off against the task to make,
 * not the loss's. (Not checked against the authors' trainer.) Its log-probabilities are computed once, without
 * gradients.
 *
 * <p>Each step differentiates fresh leaf copies of the logits (as {@code TrainableWeights#bind} and
 * {@link SafetyFisher} do); a non-finite loss or gradient stops the job with the step's numbers.
 */
public final class Somf {
    private final LlamaModel model;

    public Somf(LlamaModel model) {
        if (model.matrixType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("SOMF needs an fp32 model, got " + model.matrixType());
        }
        this.model = model;
    }

    public SomfResult run(SomfInputs inputs, SomfParameters params, NDManager owner, Consumer<SomfProgress> progress,
                          Cancellation cancellation) {
        SequencedMap<String, Shape> shapes = new LinkedHashMap<>();
        for (Map<String, NDArray> tau : inputs.taskVectors()) {
            tau.forEach((name, t) -> shapes.putIfAbsent(name, t.getShape()));
        }
        NDManager work = owner.newSubManager();
        NDManager resultManager = owner.newSubManager();
        try {
            List<PreferencePair> pairs = inputs.pairs();
            double[][] reference = referenceLogProbs(inputs, params, shapes, work, progress, cancellation);
            SequencedMap<String, NDArray> logits = new LinkedHashMap<>();
            List<TrainableParameter> trainable = new ArrayList<>();
            for (var e : shapes.entrySet()) {
                NDArray logit = work.full(e.getValue(), (float) params.initialLogit());
                logits.put(e.getKey(), logit);
                trainable.add(new TrainableParameter(e.getKey(), logit, false));
            }
            // plain Adam on the logits: no warmup or decay schedule, no weight decay, no clipping
            OptimizerSettings adam = new OptimizerSettings(params.steps(), params.batchSize(), params.learningRate(),
                    0, 1.0, 0, 0.9, 0.999, 1e-8, 0, params.seed());
            SplittableRandom noiseRandom = new SplittableRandom(params.seed());
            Random orderRandom = new Random(params.seed());
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < pairs.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, orderRandom);
            int cursor = 0;
            List<Double> history = new ArrayList<>(params.steps());
            try (AdamW optimizer = new AdamW(trainable, adam, work)) {
                for (int step = 0; step < params.steps(); step++) {
                    cancellation.check();
                    List<Integer> batch = new ArrayList<>(params.batchSize());
                    for (int i = 0; i < Math.min(params.batchSize(), pairs.size()); i++) {
                        if (cursor == order.size()) {
                            Collections.shuffle(order, orderRandom);
                            cursor = 0;
                        }
                        batch.add(order.get(cursor++));
                    }
                    double loss = step(step, inputs, params, logits, batch, reference, noiseRandom.split(), optimizer,
                            work);
                    history.add(loss);
                    progress.accept(new SomfProgress(SomfProgress.Stage.TRAIN, step + 1, params.steps(), loss,
                            (step + 1.0) / params.steps()));
                }
            }
            cancellation.check();
            SequencedMap<String, NDArray> mask;
            SequencedMap<String, NDArray> delta;
            long ones = 0;
            long entries = 0;
            try (NDManager scope = work.newSubManager()) {
                mask = ConcreteMask.binary(logits, ConcreteMask.noise(shapes, noiseRandom.split(), scope),
                        params.temperature());
                mask.values().forEach(m -> m.attach(scope));
                for (NDArray m : mask.values()) {
                    ones += Math.round(m.sum().getFloat());   // exact: fp32 sums of 0/1 below 2^24 per tensor
                    entries += m.size();
                }
                delta = SomfFusion.delta(inputs.taskVectors(), mask, params.merge(), params.mergeDensity(),
                        params.seed(), params.mergeScale(), scope);
                mask.values().forEach(m -> m.attach(resultManager));
                delta.values().forEach(d -> d.attach(resultManager));
            }
            progress.accept(new SomfProgress(SomfProgress.Stage.DONE, params.steps(), params.steps(), Double.NaN, 1));
            return new SomfResult(resultManager, mask, delta, history, (double) ones / entries);
        } catch (RuntimeException e) {
            resultManager.close();
            throw e;
        } finally {
            work.close();
        }
    }

    /** log pi_ref of every pair's chosen ([0]) and rejected ([1]) answer, pi_ref the unmasked fusion. */
    private double[][] referenceLogProbs(SomfInputs inputs, SomfParameters params, Map<String, Shape> shapes,
                                         NDManager work, Consumer<SomfProgress> progress, Cancellation cancellation) {
        List<PreferencePair> pairs = inputs.pairs();
        double[][] reference = new double[2][pairs.size()];
        for (int from = 0; from < pairs.size(); from += params.batchSize()) {
            cancellation.check();
            int to = Math.min(pairs.size(), from + params.batchSize());
            try (NDManager scope = work.newSubManager()) {
                Map<String, NDArray> ones = new LinkedHashMap<>();
                shapes.forEach((name, shape) -> ones.put(name, scope.ones(shape)));
                var weights = SomfFusion.fuse(inputs.safe(), inputs.taskVectors(), ones, params.merge(),
                        params.mergeDensity(), params.seed(), params.mergeScale(), scope);
                List<PreferencePair> batch = pairs.subList(from, to);
                float[] chosen = AnswerLogProbs.of(model, weights, chosen(batch), scope).toFloatArray();
                float[] rejected = AnswerLogProbs.of(model, weights, rejected(batch), scope).toFloatArray();
                for (int i = 0; i < batch.size(); i++) {
                    reference[0][from + i] = chosen[i];
                    reference[1][from + i] = rejected[i];
                }
            }
            progress.accept(new SomfProgress(SomfProgress.Stage.REFERENCE, 0, params.steps(), Double.NaN,
                    (double) to / pairs.size()));
        }
        return reference;
    }

    /** One optimizer step on the logits; returns its DPO loss. */
    private double step(int step, SomfInputs inputs, SomfParameters params, SequencedMap<String, NDArray> logits,
                        List<Integer> batch, double[][] reference, SplittableRandom noiseRandom, AdamW optimizer,
                        NDManager work) {
        List<PreferencePair> pairs = batch.stream().map(inputs.pairs()::get).toList();
        float[] refChosen = new float[batch.size()];
        float[] refRejected = new float[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            refChosen[i] = (float) reference[0][batch.get(i)];
            refRejected[i] = (float) reference[1][batch.get(i)];
        }
        Map<String, Shape> shapes = new LinkedHashMap<>();
        logits.forEach((name, l) -> shapes.put(name, l.getShape()));
        try (NDManager scope = work.newSubManager()) {
            Map<String, NDArray> noise = ConcreteMask.noise(shapes, noiseRandom, scope);
            Map<String, NDArray> leaves = new LinkedHashMap<>();
            for (var e : logits.entrySet()) {
                NDArray leaf = e.getValue().duplicate();   // (tensor shape)
                leaf.attach(scope);
                leaf.setRequiresGradient(true);
                leaves.put(e.getKey(), leaf);
            }
            double loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray value = objective(inputs, params, leaves, noise, pairs, scope.create(refChosen),
                        scope.create(refRejected), scope);
                collector.backward(value);
                loss = value.getFloat();
            }
            List<NDArray> gradients = new ArrayList<>(leaves.size());
            for (NDArray leaf : leaves.values()) {
                NDArray gradient = leaf.getGradient();
                gradient.attach(scope);
                gradients.add(gradient);
            }
            double norm = AdamW.gradientNorm(gradients);
            if (!Double.isFinite(norm) || !Double.isFinite(loss)) {
                throw new IllegalStateException("SOMF's mask training diverged at step " + step + ": gradient norm "
                        + norm + ", loss " + loss + " (lower the learning rate or raise the temperature)");
            }
            optimizer.step(gradients, params.learningRate(), 1);
            return loss;
        }
    }

    /**
     * The DPO loss of the fusion under one relaxed draw of the mask: differentiable in {@code logits}.
     *
     * @param referenceChosen   (pairs,) log pi_ref of the chosen answers
     * @param referenceRejected (pairs,) log pi_ref of the rejected answers
     * @return scalar in {@code scope}
     */
    NDArray objective(SomfInputs inputs, SomfParameters params, Map<String, NDArray> logits,
                      Map<String, NDArray> noise, List<PreferencePair> pairs, NDArray referenceChosen,
                      NDArray referenceRejected, NDManager scope) {
        Map<String, NDArray> relaxed = ConcreteMask.relaxed(logits, noise, params.temperature());
        var weights = SomfFusion.fuse(inputs.safe(), inputs.taskVectors(), relaxed, params.merge(),
                params.mergeDensity(), params.seed(), params.mergeScale(), scope);
        return DpoLoss.loss(AnswerLogProbs.of(model, weights, chosen(pairs), scope),
                AnswerLogProbs.of(model, weights, rejected(pairs), scope), referenceChosen, referenceRejected,
                params.beta());
    }

    private static List<TrainingSequence> chosen(List<PreferencePair> pairs) {
        return pairs.stream().map(PreferencePair::chosen).toList();
    }

    private static List<TrainingSequence> rejected(List<PreferencePair> pairs) {
        return pairs.stream().map(PreferencePair::rejected).toList();
    }
}
