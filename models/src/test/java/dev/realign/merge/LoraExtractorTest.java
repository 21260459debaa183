package dev.realign.merge;

import static dev.realign.merge.LoraTestFixtures.Q0;
import static dev.realign.merge.LoraTestFixtures.copyModel;
import static dev.realign.merge.LoraTestFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.realign.checkpoint.TensorData;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.TensorLayout;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA extraction by truncated SVD: exact low-rank deltas come back, truncation error is optimal and reported. */
class LoraExtractorTest {
    static final String UP0 = "model.layers.0.mlp.up_proj.weight";
    static final String DOWN1 = "model.layers.1.mlp.down_proj.weight";

    @TempDir
    static Path shared;
    static Path baseDir;
    static LoadedModel base;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadBase() {
        baseDir = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 13), shared.resolve("base"));
        base = LoadedModel.load("base", baseDir, Device.cpu(), ComputeType.AUTO);
    }

    @AfterAll
    static void closeBase() {
        base.close();
    }

    /** An exactly rank-{@code rank} (out, in) matrix B0 @ A0, row-major. */
    static float[] lowRank(int out, int in, int rank, long seed) {
        var random = new SplittableRandom(seed);
        float[] a = random(random, rank * in, 0.2);
        float[] b = random(random, out * rank, 0.2);
        float[] d = new float[out * in];
        double[] ref = LoraTestFixtures.reference(a, b, out, rank, in, 1.0);
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) ref[i];
        }
        return d;
    }

    /** A fine-tune whose linear deltas are exactly rank 3, plus a changed norm. */
    private Path rankThreeFineTune() {
        Map<String, float[]> deltas = Map.of(
                Q0 + ".weight", lowRank(64, 64, 3, 1),
                UP0, lowRank(128, 64, 3, 2),
                DOWN1, lowRank(64, 128, 3, 3),
                TensorLayout.FINAL_NORM, random(new SplittableRandom(4), 64, 0.1));
        return copyModel(baseDir, dir.resolve("ft"), (name, t) -> {
            float[] d = deltas.get(name);
            if (d == null) {
                return null;
            }
            float[] values = t.toFloats();
            for (int i = 0; i < values.length; i++) {
                values[i] += d[i];
            }
            return TensorData.ofFloats(values, t.shape());
        });
    }

    private static double relativeDifference(NDArray x, NDArray y) {
        float[] a = x.toFloatArray();
        float[] b = y.toFloatArray();
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void anExactlyLowRankFineTuneIsRecoveredAndRoundTripsThroughPeftFiles() {
        Path ft = rankThreeFineTune();
        try (FullDeltaAdapter full = FullDeltaAdapter.load("ft", ft, base.config(), base.weights(), base.manager());
                NDManager m = base.manager().newSubManager()) {
            assertThat(full.targets()).containsExactly(Q0 + ".weight", UP0, DOWN1, TensorLayout.FINAL_NORM);
            LoraExtractor.Result result = LoraExtractor.extract(full, LoraExtractor.Options.rank(3), m);
            assertThat(result.skipped()).containsExactly(TensorLayout.FINAL_NORM);
            assertThat(result.relativeErrors().keySet()).containsExactly(Q0 + ".weight", UP0, DOWN1);
            assertThat(result.maxRelativeError()).isLessThan(1e-4);
            for (PeftLoraWriter.Module module : result.modules()) {
                assertThat(module.rank()).isEqualTo(3);
                assertThat(module.alpha()).isEqualTo(3.0); // alpha = r: scale 1
            }

            Path adapter = dir.resolve("extracted");
            result.write(adapter, baseDir.toString());
            try (PeftLoraAdapter lora = PeftLoraAdapter.load("x", adapter, base.config(), base.weights(), base.manager())) {
                assertThat(lora.targets()).containsExactly(Q0 + ".weight", UP0, DOWN1);
                for (String target : lora.targets()) {
                    assertThat(lora.lora(target).orElseThrow().scale()).isEqualTo(1.0f);
                    assertThat(relativeDifference(lora.delta(target, m), full.delta(target, m))).isLessThan(1e-4);
                }
            }

            // Keeping the norm whole writes it as a modules_to_save replacement.
            LoraExtractor.Result whole = LoraExtractor.extract(full, base.weights(), Set.of(TensorLayout.FINAL_NORM),
                    LoraExtractor.Options.rank(3), m);
            assertThat(whole.skipped()).isEmpty();
            Path withNorm = dir.resolve("with-norm");
            whole.write(withNorm, "base");
            try (PeftLoraAdapter lora = PeftLoraAdapter.load("y", withNorm, base.config(), base.weights(), base.manager())) {
                assertThat(lora.targets()).containsExactly(Q0 + ".weight", UP0, DOWN1, TensorLayout.FINAL_NORM);
                assertThat(relativeDifference(lora.delta(TensorLayout.FINAL_NORM, m),
                        full.delta(TensorLayout.FINAL_NORM, m))).isLessThan(1e-5);
            }
        }
    }

    /** Random orthonormal columns (rows, cols) by Gram-Schmidt, in double. */
    static double[][] orthonormalColumns(int rows, int cols, SplittableRandom random) {
        double[][] q = new double[cols][rows];
        for (int j = 0; j < cols; j++) {
            for (int i = 0; i < rows; i++) {
                q[j][i] = random.nextGaussian();
            }
            for (int pass = 0; pass < 2; pass++) {
                for (int p = 0; p < j; p++) {
                    double dot = 0;
                    for (int i = 0; i < rows; i++) {
                        dot += q[j][i] * q[p][i];
                    }
                    for (int i = 0; i < rows; i++) {
                        q[j][i] -= dot * q[p][i];
                    }
                }
            }
            double norm = 0;
            for (double x : q[j]) {
                norm += x * x;
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < rows; i++) {
                q[j][i] /= norm;
            }
        }
        return q;
    }

    /** U diag(s) V^T with random orthonormal U (m, p) and V (n, p). */
    static float[] withSpectrum(int m, int n, double[] s, long seed) {
        var random = new SplittableRandom(seed);
        double[][] u = orthonormalColumns(m, s.length, random);
        double[][] v = orthonormalColumns(n, s.length, random);
        float[] d = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double x = 0;
                for (int p = 0; p < s.length; p++) {
                    x += u[p][i] * s[p] * v[p][j];
                }
                d[i * n + j] = (float) x;
            }
        }
        return d;
    }

    @Test
    void truncationErrorIsOptimalAndTheScaleSplitIsAsDocumented() {
        double[] s = {8, 4, 2, 1, 0.5, 0.25, 0.125, 0.0625};
        int m = 96;
        int n = 40;
        double tail = 0;
        double total = 0;
        for (int i = 0; i < s.length; i++) {
            total += s[i] * s[i];
            if (i >= 3) {
                tail += s[i] * s[i];
            }
        }
        double optimal = Math.sqrt(tail / total); // Eckart-Young
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            NDArray delta = manager.create(withSpectrum(m, n, s, 5), new Shape(m, n));
            for (boolean distribute : new boolean[] {true, false}) {
                var options = new LoraExtractor.Options(3, distribute, 10, 2, 0);
                LoraExtractor.Factors f = LoraExtractor.decompose(delta, options, 17, manager);
                assertThat(f.a().getShape()).isEqualTo(new Shape(3, n));
                assertThat(f.b().getShape()).isEqualTo(new Shape(m, 3));
                double error = LoraExtractor.relativeError(delta, f.a(), f.b());
                assertThat(error).isCloseTo(optimal, within(1e-4 * optimal + 1e-6));
                // Row norms of A and column norms of B: sqrt(s) each, or s and 1.
                float[] a = f.a().toFloatArray();
                float[] b = f.b().toFloatArray();
                for (int j = 0; j < 3; j++) {
                    double an = 0;
                    double bn = 0;
                    for (int i = 0; i < n; i++) {
                        an += a[j * n + i] * a[j * n + i];
                    }
                    for (int i = 0; i < m; i++) {
                        bn += b[i * 3 + j] * b[i * 3 + j];
                    }
                    assertThat(Math.sqrt(an)).isCloseTo(distribute ? Math.sqrt(s[j]) : s[j], within(1e-4));
                    assertThat(Math.sqrt(bn)).isCloseTo(distribute ? Math.sqrt(s[j]) : 1, within(1e-4));
                }
            }
        }
    }

    @Test
    void aFullRankDeltaIsTruncatedNearOptimallyByTheRandomizedSvd() {
        // 64 singular values decaying slowly, far more than rank + oversample: the sketch is approximate here.
        double[] s = new double[64];
        double tail = 0;
        double total = 0;
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.pow(0.85, i);
            total += s[i] * s[i];
            if (i >= 8) {
                tail += s[i] * s[i];
            }
        }
        double optimal = Math.sqrt(tail / total);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            NDArray delta = manager.create(withSpectrum(128, 64, s, 9), new Shape(128, 64));
            LoraExtractor.Factors f = LoraExtractor.decompose(delta, LoraExtractor.Options.rank(8), 3, manager);
            double error = LoraExtractor.relativeError(delta, f.a(), f.b());
            assertThat(error).isGreaterThanOrEqualTo(optimal * (1 - 1e-6)).isLessThan(optimal * 1.01);
        }
    }

    @Test
    void exactlyLowRankMatricesOfManyShapesAreRecovered() {
        var random = new SplittableRandom(23);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            for (int trial = 0; trial < 40; trial++) {
                int m = 1 + random.nextInt(48);
                int n = 1 + random.nextInt(48);
                int trueRank = random.nextInt(Math.min(m, n) + 1);
                int rank = Math.max(1, trueRank + random.nextInt(3));
                int oversample = random.nextInt(6);
                try (NDManager scratch = manager.newSubManager()) {
                    NDArray delta = scratch.create(trueRank == 0 ? new float[m * n] : lowRank(m, n, trueRank, trial),
                            new Shape(m, n));
                    var options = new LoraExtractor.Options(rank, random.nextBoolean(), oversample, random.nextInt(3), trial);
                    LoraExtractor.Factors f = LoraExtractor.decompose(delta, options, trial, scratch);
                    assertThat(f.a().getShape().get(0)).isEqualTo(Math.min(rank, Math.min(m, n)));
                    double error = LoraExtractor.relativeError(delta, f.a(), f.b());
                    assertThat(error).as("m=%d n=%d true rank %d, rank %d, oversample %d", m, n, trueRank, rank,
                            oversample).isLessThan(1e-4);
                }
            }
        }
    }
}
