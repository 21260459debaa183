package dev.realign.realign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.FullDeltaAdapter;
import dev.realign.merge.LoraFactors;
import dev.realign.model.LoraTerm;
import dev.realign.model.ProjectionKind;
import dev.realign.model.Weights;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.train.CausalLmLoss;
import dev.realign.train.TrainingSequence;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SOMF on a tiny random model: the aligned model of {@link IrrFixture} is phi_safe, its folded random LoRA the task
 * vector, random token sequences the preference pairs. Expected values are computed in double-precision Java.
 */
class SomfTest {
    private static final String Q0 = ProjectionKind.Q.weightName(0);

    @TempDir
    Path dir;

    @Test
    void allOnesMaskReproducesTheFineTunedModelExactly() {
        try (IrrFixture f = new IrrFixture(dir, 31); NDManager scope = f.manager.newSubManager()) {
            Weights fused = SomfFusion.fuse(f.aligned.weights(), List.of(f.delta), ones(f.delta, scope), 1.0, scope);
            for (var e : f.delta.entrySet()) {
                float[] safe = f.aligned.weights().tensor(e.getKey()).toFloatArray();
                float[] tau = e.getValue().toFloatArray();
                float[] actual = fused.tensor(e.getKey()).toFloatArray();
                for (int i = 0; i < safe.length; i++) {
                    // W_ft = W_safe + tau, the sum of two floats rounded once (as a full-delta adapter applies it)
                    float expected = (float) ((double) safe[i] + tau[i]);
                    assertThat(actual[i]).as("%s[%d]", e.getKey(), i).isEqualTo(expected);
                }
            }
            assertThat(fused.tensor(ProjectionKind.Q.weightName(0)))
                    .isNotSameAs(f.aligned.weights().tensor(ProjectionKind.Q.weightName(0)));
        }
    }

    /** The DPO reference, the all-ones fusion, scores answers as the LoRA fine-tune served unmerged. */
    @Test
    void allOnesFusionScoresAnswersAsTheUnmergedLoraFineTune() {
        try (IrrFixture f = new IrrFixture(dir, 36); NDManager scope = f.manager.newSubManager()) {
            Map<String, List<LoraTerm>> terms = new LinkedHashMap<>();
            for (String target : f.lora.targets()) {
                LoraFactors factors = f.lora.lora(target).orElseThrow();
                terms.put(target, List.of(new LoraTerm(factors.a(), factors.b(), factors.scale())));
            }
            Weights fineTuned = f.aligned.weights().withLora(terms);
            Weights fused = SomfFusion.fuse(f.aligned.weights(), List.of(f.delta), ones(f.delta, scope), 1.0, scope);
            float[] expected = AnswerLogProbs.of(f.aligned.model(), fineTuned, f.safety, scope).toFloatArray();
            float[] actual = AnswerLogProbs.of(f.aligned.model(), fused, f.safety, scope).toFloatArray();
            float[] safe = AnswerLogProbs.of(f.aligned.model(), f.aligned.weights(), f.safety, scope).toFloatArray();
            for (int i = 0; i < expected.length; i++) {
                assertThat(actual[i]).as("sequence %d", i).isCloseTo(expected[i], within(1e-3f));
                // the fine-tune must actually differ from the safe model, or the comparison proves nothing
                assertThat(Math.abs(safe[i] - expected[i])).as("sequence %d moved by the fine-tune", i)
                        .isGreaterThan(1e-2f);
            }
        }
    }

    @Test
    void severalAdaptersAreSummedWithTheMergeScaleAndEachTensorRescaledByItsOwnMaskMean() {
        try (IrrFixture f = new IrrFixture(dir, 32); NDManager scope = f.manager.newSubManager()) {
            String down = ProjectionKind.DOWN.weightName(1);
            NDArray tau1q = f.delta.get(Q0);
            NDArray tau2q = tau1q.mul(-0.5).add(0.01);
            NDArray tau1d = f.delta.get(down);
            Map<String, NDArray> first = Map.of(Q0, tau1q, down, tau1d);
            Map<String, NDArray> second = Map.of(Q0, tau2q);      // lacks `down`: counts as zero
            SplittableRandom random = new SplittableRandom(5);
            Map<String, NDArray> masks = new LinkedHashMap<>();
            masks.put(Q0, randomBinary(tau1q.getShape(), 0.3, random, scope));
            masks.put(down, randomBinary(tau1d.getShape(), 0.8, random, scope));
            Map<String, NDArray> delta = SomfFusion.delta(List.of(first, second), masks, 0.7, scope);
            assertClose(delta.get(Q0), expectedDelta(List.of(tau1q, tau2q), masks.get(Q0), 0.7));
            assertClose(delta.get(down), expectedDelta(List.of(tau1d), masks.get(down), 0.7));

            Map<String, NDArray> allZero = Map.of(Q0, scope.zeros(tau1q.getShape()));
            assertThat(SomfFusion.delta(List.of(first), allZero, 1.0, scope).get(Q0).abs().max().getFloat())
                    .isZero();
        }
    }

    @Test
    void tiesTrimsElectsAndAveragesTheMaskedVectorsAsADoublePrecisionTies() {
        try (NDManager m = NDManager.newBaseManager()) {
            SplittableRandom random = new SplittableRandom(12);
            Shape shape = new Shape(6, 10);
            int n = 60;
            List<float[]> taus = new ArrayList<>();
            List<Map<String, NDArray>> vectors = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                float[] t = new float[n];
                for (int j = 0; j < n; j++) {
                    t[j] = (float) random.nextGaussian();
                }
                taus.add(t);
                vectors.add(Map.of("w", m.create(t, shape)));
            }
            NDArray mask = randomBinary(shape, 0.6, random, m);
            float[] mv = mask.toFloatArray();
            double mean = 0;
            for (float v : mv) {
                mean += v / (double) n;
            }
            double density = 0.5;
            double[] expected = new double[n];
            double[][] trimmed = new double[3][n];
            for (int i = 0; i < 3; i++) {
                double[] v = new double[n];
                Integer[] order = new Integer[n];
                for (int j = 0; j < n; j++) {
                    v[j] = taus.get(i)[j] * mv[j] / mean;
                    order[j] = j;
                }
                java.util.Arrays.sort(order, (a, b) -> Double.compare(Math.abs(v[b]), Math.abs(v[a])));
                for (int r = 0; r < Math.ceil(density * n); r++) {
                    trimmed[i][order[r]] = v[order[r]];
                }
            }
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int i = 0; i < 3; i++) {
                    sum += trimmed[i][j];
                }
                double kept = 0;
                int count = 0;
                for (int i = 0; i < 3; i++) {
                    if (trimmed[i][j] != 0 && Math.signum(trimmed[i][j]) == Math.signum(sum)) {
                        kept += trimmed[i][j];
                        count++;
                    }
                }
                expected[j] = 0.8 * (count == 0 ? 0 : kept / count);
            }
            Map<String, NDArray> delta =
                    SomfFusion.delta(vectors, Map.of("w", mask), SomfMerge.TIES, density, 0, 0.8, m);
            assertClose(delta.get("w"), expected);

            // one adapter, no trim, all ones: TIES is the task vector itself
            NDArray ones = m.ones(shape);
            float[] alone = SomfFusion.delta(vectors.subList(0, 1), Map.of("w", ones), SomfMerge.TIES, 1.0, 0, 1.0, m)
                    .get("w").toFloatArray();
            assertThat(alone).containsExactly(taus.getFirst());
        }
    }

    @Test
    void dareDropsWithTheMergeMethodsSeededPatternAndRescalesTheKeptEntries() {
        try (NDManager m = NDManager.newBaseManager()) {
            SplittableRandom random = new SplittableRandom(13);
            Shape shape = new Shape(8, 16);
            int n = 128;
            double density = 0.7;
            long seed = 42;
            List<Map<String, NDArray>> vectors = new ArrayList<>();
            List<float[]> taus = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                float[] t = new float[n];
                for (int j = 0; j < n; j++) {
                    t[j] = (float) random.nextGaussian();
                }
                taus.add(t);
                vectors.add(Map.of("w", m.create(t, shape)));
            }
            NDArray mask = randomBinary(shape, 0.5, random, m);
            float[] mv = mask.toFloatArray();
            double mean = 0;
            for (float v : mv) {
                mean += v / (double) n;
            }
            double[] expected = new double[n];
            int kept = 0;
            for (int i = 0; i < 2; i++) {
                boolean[] keep = dev.realign.merge.methods.SeededUniforms.bernoulliMask(m,
                        dev.realign.merge.methods.SeededUniforms.key(seed, "w", i), n, density).toBooleanArray();
                for (int j = 0; j < n; j++) {
                    if (keep[j]) {
                        expected[j] += taus.get(i)[j] * mv[j] / mean / density;
                        kept++;
                    }
                }
            }
            assertThat(kept).as("DARE drops some entries and keeps most").isStrictlyBetween(n, 2 * n);
            assertClose(SomfFusion.delta(vectors, Map.of("w", mask), SomfMerge.DARE, density, seed, 1.0, m).get("w"),
                    expected);
        }
    }

    @Test
    void dpoLossMatchesADoublePrecisionComputation() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] pc = {-12.5f, -3.0f, -40.0f, -7.25f, -1000f};
            float[] pr = {-10.0f, -9.5f, -2.0f, -7.25f, -1.0f};
            float[] rc = {-11.0f, -4.0f, -41.0f, -7.0f, -1.0f};
            float[] rr = {-10.5f, -9.0f, -3.0f, -7.5f, -1000f};
            double beta = 0.1;
            double expected = 0;
            for (int i = 0; i < pc.length; i++) {
                double z = beta * (((double) pc[i] - rc[i]) - ((double) pr[i] - rr[i]));
                expected += -Math.log(1 / (1 + Math.exp(-z))) / pc.length;
            }
            double actual = DpoLoss.loss(m.create(pc), m.create(pr), m.create(rc), m.create(rr), beta).getFloat();
            assertThat(actual).isCloseTo(expected, within(1e-5 * expected));
            // the last pair's margin is -199.8: a naive log(sigmoid) would underflow to -inf
            assertThat(actual).isGreaterThan(199.8 / pc.length);
        }
    }

    @Test
    void concreteSamplesFollowTheRelaxedBernoulli() {
        try (NDManager m = NDManager.newBaseManager()) {
            int n = 40_000;
            Map<String, Shape> shapes = Map.of("x", new Shape(n));
            for (double logit : new double[] {0, 1, -2, 8}) {
                Map<String, NDArray> logits = Map.of("x", m.full(new Shape(n), (float) logit));
                Map<String, NDArray> noise = ConcreteMask.noise(shapes, new SplittableRandom(7), m);
                float[] relaxed = ConcreteMask.relaxed(logits, noise, 0.5).get("x").toFloatArray();
                float[] binary = ConcreteMask.binary(logits, noise, 0.5).get("x").toFloatArray();
                double mean = 0;
                double ones = 0;
                for (int i = 0; i < n; i++) {
                    assertThat(relaxed[i]).isBetween(0f, 1f);
                    assertThat(binary[i]).isIn(0f, 1f);
                    mean += relaxed[i] / n;
                    ones += binary[i] / n;
                }
                double p = 1 / (1 + Math.exp(-logit));
                // thresholding a concrete sample at 0.5 is a Bernoulli(sigmoid(logit)) draw; 5 standard errors
                double tolerance = 5 * Math.sqrt(p * (1 - p) / n) + 1e-3;
                assertThat(ones).as("P(m > 0.5) at logit %s", logit).isCloseTo(p, within(tolerance));
                if (logit == 0) {
                    assertThat(mean).as("E[m] at logit 0, symmetric noise").isCloseTo(0.5, within(0.01));
                }
                if (logit == 8) {
                    assertThat(mean).as("E[m] at a large logit").isGreaterThan(0.99);
                }
            }
        }
    }

    @Test
    void answerLogProbsSumTheTokensThatTheCausalLmLossAverages() {
        try (IrrFixture f = new IrrFixture(dir, 33); NDManager scope = f.manager.newSubManager()) {
            float[] sums = AnswerLogProbs.of(f.aligned.model(), f.aligned.weights(), f.safety, scope).toFloatArray();
            assertThat(sums).hasSize(f.safety.size());
            int targets = 0;
            double total = 0;
            for (int i = 0; i < sums.length; i++) {
                assertThat(sums[i]).isNegative();
                double single = CausalLmLoss.loss(f.aligned.model(), f.aligned.weights(), List.of(f.safety.get(i)),
                        scope).getFloat();
                assertThat((double) sums[i]).isCloseTo(-single * f.safety.get(i).targets(), within(1e-3));
                total += sums[i];
                targets += f.safety.get(i).targets();
            }
            double mean = CausalLmLoss.loss(f.aligned.model(), f.aligned.weights(), f.safety, scope).getFloat();
            assertThat(-total / targets).isCloseTo(mean, within(1e-4));
        }
    }

    @Test
    void dpoLossFallsAndTheReportedDensityIsTheFractionOfOnes() {
        try (IrrFixture f = new IrrFixture(dir, 34)) {
            SomfParameters params = SomfParameters.DEFAULTS.withSteps(40).withLearningRate(0.05).withBatchSize(4)
                    .withSeed(3);
            List<SomfProgress> reports = new ArrayList<>();
            try (SomfResult result = new Somf(f.aligned.model()).run(inputs(f), params, f.manager, reports::add,
                    Cancellation.NEVER)) {
                List<Double> loss = result.lossHistory();
                assertThat(loss).hasSize(40).allMatch(Double::isFinite);
                double first = window(loss, 0, 8);
                double last = window(loss, 32, 40);
                System.out.printf("SOMF DPO loss: %s density %.4f%n", loss, result.density());
                assertThat(loss.getFirst()).as("at the start the policy is the reference in expectation")
                        .isCloseTo(Math.log(2), within(0.2));
                assertThat(last).as("last window vs first window").isLessThan(first - 0.05);

                long ones = 0;
                long entries = 0;
                for (var e : result.mask().entrySet()) {
                    float[] m = e.getValue().toFloatArray();
                    for (float v : m) {
                        assertThat(v).isIn(0f, 1f);
                        ones += (long) v;
                    }
                    entries += m.length;
                    assertClose(result.delta().get(e.getKey()),
                            expectedDelta(List.of(f.delta.get(e.getKey())), e.getValue(), 1.0));
                }
                assertThat(result.mask().keySet()).containsExactlyElementsOf(f.delta.keySet());
                assertThat(result.density()).isEqualTo((double) ones / entries).isStrictlyBetween(0.0, 1.0);

                assertThat(reports.getFirst().stage()).isEqualTo(SomfProgress.Stage.REFERENCE);
                assertThat(reports.stream().filter(r -> r.stage() == SomfProgress.Stage.TRAIN)).hasSize(40);
                assertThat(reports.getLast().stage()).isEqualTo(SomfProgress.Stage.DONE);

                // the written folder serves as a full-delta adapter whose deltas are the fused ones
                Path out = result.writeModel(f.aligned.weights(), f.aligned.directory(), dir.resolve("somf"),
                        Map.of("realign.job", "somf"));
                try (DeltaSource adapter = FullDeltaAdapter.load("somf", out, f.aligned.config(), f.aligned.weights(),
                        f.manager); NDManager scope = f.manager.newSubManager()) {
                    assertThat(adapter.targets()).containsExactlyInAnyOrderElementsOf(result.delta().keySet());
                    for (var e : result.delta().entrySet()) {
                        float[] expected = e.getValue().toFloatArray();
                        float[] served = adapter.delta(e.getKey(), scope).toFloatArray();
                        for (int i = 0; i < expected.length; i++) {
                            assertThat(served[i]).as("%s[%d]", e.getKey(), i).isCloseTo(expected[i], within(1e-5f));
                        }
                    }
                }
            }
        }
    }

    /** Autograd through sampler, rescale, fusion, forward and DPO against central differences of the same draw. */
    @Test
    void maskGradientMatchesFiniteDifferences() {
        try (IrrFixture f = new IrrFixture(dir, 37); NDManager scope = f.manager.newSubManager()) {
            SomfInputs all = inputs(f);
            SomfInputs inputs = new SomfInputs(f.aligned.weights(), List.of(Map.of(Q0, f.delta.get(Q0))), all.pairs());
            SomfParameters params = SomfParameters.DEFAULTS.withBeta(1.0);
            Somf somf = new Somf(f.aligned.model());
            Shape shape = f.delta.get(Q0).getShape();
            Map<String, NDArray> noise = ConcreteMask.noise(Map.of(Q0, shape), new SplittableRandom(4), scope);
            float[] start = new float[Math.toIntExact(shape.size())];
            SplittableRandom random = new SplittableRandom(8);
            for (int i = 0; i < start.length; i++) {
                start[i] = (float) random.nextGaussian();
            }
            // reference log-probs that differ from the policy's, so the loss is not at its symmetric point
            NDArray refChosen = scope.create(new float[] {-30, -35, -28, -40});
            NDArray refRejected = scope.create(new float[] {-31, -33, -29, -41});
            NDArray leaf = scope.create(start, shape);
            leaf.setRequiresGradient(true);
            try (var collector = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                collector.backward(somf.objective(inputs, params, Map.of(Q0, leaf), noise, inputs.pairs(), refChosen,
                        refRejected, scope));
            }
            float[] gradient = leaf.getGradient().toFloatArray();
            int[] probes = largest(gradient, 3);
            double h = 1e-2;
            for (int index : probes) {
                double[] values = new double[2];
                for (int side = 0; side < 2; side++) {
                    float[] moved = start.clone();
                    moved[index] += (float) (side == 0 ? h : -h);
                    values[side] = somf.objective(inputs, params, Map.of(Q0, scope.create(moved, shape)), noise,
                            inputs.pairs(), refChosen, refRejected, scope).getFloat();
                }
                double numeric = (values[0] - values[1]) / (2 * h);
                assertThat((double) gradient[index]).as("dL/dlogit[%d]", index)
                        .isCloseTo(numeric, within(1e-4 + 0.1 * Math.abs(numeric)));
            }
            assertThat(Math.abs(gradient[probes[0]])).as("a gradient big enough to check").isGreaterThan(1e-3f);
        }
    }

    @Test
    void tiesOverTwoAdaptersTrainsTheSharedMaskToo() {
        try (IrrFixture f = new IrrFixture(dir, 39); NDManager scope = f.manager.newSubManager()) {
            Map<String, NDArray> second = new LinkedHashMap<>();
            f.delta.forEach((name, tau) -> second.put(name, reversed(tau, scope)));
            SomfInputs inputs = new SomfInputs(f.aligned.weights(), List.of(f.delta, second), inputs(f).pairs());
            SomfParameters params = SomfParameters.DEFAULTS.withSteps(30).withSeed(5)
                    .withMerge(SomfMerge.TIES, 0.5);
            try (SomfResult result = new Somf(f.aligned.model()).run(inputs, params, f.manager, p -> {},
                    Cancellation.NEVER)) {
                List<Double> loss = result.lossHistory();
                assertThat(loss).hasSize(30).allMatch(Double::isFinite);
                assertThat(window(loss, 24, 30)).isLessThan(window(loss, 0, 6) - 0.05);
                for (var e : result.mask().entrySet()) {
                    Map<String, NDArray> one = Map.of(e.getKey(), e.getValue());
                    float[] expected = SomfFusion.delta(List.of(f.delta, second), one, SomfMerge.TIES, 0.5, 5, 1.0,
                            scope).get(e.getKey()).toFloatArray();
                    assertThat(result.delta().get(e.getKey()).toFloatArray()).containsExactly(expected);
                }
            }
        }
    }

    @Test
    void stopsWhenCancelled() {
        try (IrrFixture f = new IrrFixture(dir, 35)) {
            int[] steps = new int[1];
            assertThatThrownBy(() -> new Somf(f.aligned.model()).run(inputs(f), SomfParameters.DEFAULTS.withSteps(10),
                    f.manager, p -> steps[0] = p.step(), () -> steps[0] >= 2))
                    .isInstanceOf(CancellationException.class);
            assertThat(steps[0]).isEqualTo(2);
        }
    }

    @Test
    void inputsRejectTaskVectorsThatDoNotFitTheSafeModel() {
        try (IrrFixture f = new IrrFixture(dir, 38); NDManager scope = f.manager.newSubManager()) {
            List<PreferencePair> pairs = inputs(f).pairs();
            Weights safe = f.aligned.weights();
            NDArray tau = f.delta.get(Q0);
            assertThatThrownBy(() -> new SomfInputs(safe, List.of(Map.of(Q0, tau.reshape(1, -1))), pairs))
                    .hasMessageContaining("shape");
            assertThatThrownBy(() -> new SomfInputs(safe, List.of(Map.of(Q0, tau.toType(
                    ai.djl.ndarray.types.DataType.FLOAT16, false))), pairs)).hasMessageContaining("fp32");
            assertThatThrownBy(() -> new SomfInputs(safe, List.of(), pairs)).hasMessageContaining("task vector");
            assertThatThrownBy(() -> new SomfInputs(safe, List.of(f.delta), List.of()))
                    .hasMessageContaining("preference pair");
            TrainingSequence s = f.safety.getFirst();
            assertThatThrownBy(() -> new PreferencePair(s, new TrainingSequence(s.tokens(), s.lossFrom() + 1)))
                    .hasMessageContaining("share the prompt");
        }
    }

    @Test
    void parametersAreValidated() {
        SomfParameters d = SomfParameters.DEFAULTS;
        assertThat(d.temperature()).isEqualTo(0.5);
        assertThat(d.beta()).isEqualTo(0.1);
        assertThat(d.initialLogit()).isZero();
        assertThatThrownBy(() -> new SomfParameters(0, 0.1, 1, 0.1, 0, 1, 0, 1, SomfMerge.TIES, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("temperature");
        assertThatThrownBy(() -> d.withBeta(-1)).hasMessageContaining("beta");
        assertThatThrownBy(() -> d.withSteps(0)).hasMessageContaining("steps");
        assertThatThrownBy(() -> d.withLearningRate(Double.NaN)).hasMessageContaining("learningRate");
        assertThatThrownBy(() -> d.withBatchSize(0)).hasMessageContaining("batchSize");
        assertThatThrownBy(() -> d.withMerge(SomfMerge.TIES, 0)).hasMessageContaining("mergeDensity");
        assertThatThrownBy(() -> d.withMerge(null, 1)).hasMessageContaining("merge");
        assertThatThrownBy(() -> new SomfParameters(0.5, 0.1, 1, 0.1, 0, 1, 0, 0, SomfMerge.TIES, 1))
                .hasMessageContaining("mergeScale");
    }

    /** Four pairs over the fixture's safety prompts: the chosen and rejected answers are different random tokens. */
    private static SomfInputs inputs(IrrFixture f) {
        SplittableRandom random = new SplittableRandom(99);
        List<PreferencePair> pairs = new ArrayList<>();
        for (TrainingSequence s : f.safety) {
            int[] rejected = s.tokens().clone();
            for (int t = s.lossFrom(); t < rejected.length; t++) {
                rejected[t] = random.nextInt(SyntheticModels.TOKENIZER_BPE_VOCAB);
            }
            pairs.add(new PreferencePair(s, new TrainingSequence(rejected, s.lossFrom())));
        }
        return new SomfInputs(f.aligned.weights(), List.of(f.delta), pairs);
    }

    /** Another task vector of the same shape: the entries of {@code tau} in reverse order, halved. */
    private static NDArray reversed(NDArray tau, NDManager scope) {
        float[] v = tau.toFloatArray();
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = -0.5f * v[v.length - 1 - i];
        }
        return scope.create(r, tau.getShape());
    }

    private static int[] largest(float[] values, int count) {
        return java.util.stream.IntStream.range(0, values.length).boxed()
                .sorted((a, b) -> Float.compare(Math.abs(values[b]), Math.abs(values[a])))
                .limit(count).mapToInt(Integer::intValue).toArray();
    }

    private static double window(List<Double> values, int from, int to) {
        return values.subList(from, to).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }

    private static Map<String, NDArray> ones(Map<String, NDArray> like, NDManager scope) {
        Map<String, NDArray> ones = new LinkedHashMap<>();
        like.forEach((name, t) -> ones.put(name, scope.ones(t.getShape())));
        return ones;
    }

    private static NDArray randomBinary(Shape shape, double p, SplittableRandom random, NDManager scope) {
        float[] v = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = random.nextDouble() < p ? 1 : 0;
        }
        return scope.create(v, shape);
    }

    /** scale * sum_i tau_i * m / mean(m) in double, row-major. */
    private static double[] expectedDelta(List<NDArray> taus, NDArray mask, double scale) {
        float[] m = mask.toFloatArray();
        double mean = 0;
        for (float v : m) {
            mean += v / (double) m.length;
        }
        double[] out = new double[m.length];
        for (NDArray tau : taus) {
            float[] t = tau.toFloatArray();
            for (int i = 0; i < m.length; i++) {
                out[i] += mean == 0 ? 0 : scale * t[i] * m[i] / mean;
            }
        }
        return out;
    }

    private static void assertClose(NDArray actual, double[] expected) {
        float[] a = actual.toFloatArray();
        assertThat(a).hasSize(expected.length);
        for (int i = 0; i < a.length; i++) {
            assertThat((double) a[i]).as("[%d]", i).isCloseTo(expected[i], within(1e-6 + 1e-5 * Math.abs(expected[i])));
        }
    }
}
