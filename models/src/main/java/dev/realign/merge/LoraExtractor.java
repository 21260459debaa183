package dev.realign.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.realign.model.TensorLayout;
import dev.realign.model.Weights;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.SequencedMap;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Extracts a LoRA adapter from a fine-tune (any {@link DeltaSource}, typically a {@link FullDeltaAdapter}) by a
 * truncated SVD of each linear target's delta, as mergekit-extract-lora does: {@code delta ~ U_r S_r V_r^T},
 * and by default (mergekit's {@code --distribute-scale}) {@code B = U_r sqrt(S_r)}, {@code A = sqrt(S_r) V_r^T};
 * with {@code distributeScale = false}, {@code B = U_r}, {@code A = S_r V_r^T}. Either way {@code B @ A} is the
 * best rank-r approximation and {@code lora_alpha = r}, so the scale is 1. Splitting sqrt(S) gives both factors
 * the same magnitude, which keeps them well scaled in F16/BF16 and for further training.
 *
 * <p>The linear targets are the seven projections of each layer (q, k, v, o, gate, up, down); other changed
 * tensors (norms, biases, embeddings, lm_head) cannot be a LoRA of a Linear layer: they are reported as
 * {@link Result#skipped()}, unless named in {@code keepWhole}, which writes their fine-tuned values whole as
 * modules_to_save (mergekit's {@code --save-module}).
 *
 * <h2>The SVD</h2>
 * DJL 0.36 exposes no SVD, QR or eigensolver (its PyTorch engine binds only {@code inverse}), so this is a
 * randomized truncated SVD (Halko, Martinsson and Tropp 2011, algorithms 4.4 and 5.1): with
 * {@code k = min(r + oversample, min(m, n))} and a seeded Gaussian {@code Omega (n, k)},
 * {@code Q = orth(delta Omega)}, refined by {@code powerIterations} rounds of
 * {@code Q = orth(delta orth(delta^T Q))}; then the small {@code Q^T delta (k, n)} is decomposed exactly.
 * The products with the delta run in DJL (fp32, on the delta's device); the orthonormalizations (Householder QR)
 * and the small SVD (QR, then one-sided Jacobi) run in Java in double precision. When the delta's rank is at most
 * k, or k reaches min(m, n), the result is the exact truncated SVD up to fp32 rounding; otherwise it is within a
 * small factor of optimal, tightened by the power iterations. The achieved relative Frobenius error
 * {@code ||delta - B A||_F / ||delta||_F} of every tensor is measured and reported, so nothing rests on that bound.
 */
public final class LoraExtractor {
    private LoraExtractor() {}

    /**
     * @param rank            the LoRA rank r (a module narrower than r gets its full rank)
     * @param distributeScale B = U sqrt(S), A = sqrt(S) V^T (true, mergekit's default) or B = U, A = S V^T
     * @param oversample      extra random directions beyond r
     * @param powerIterations subspace iterations (each costs two more products with the delta)
     * @param seed            seeds the random projections (per target, mixed with its name)
     */
    public record Options(int rank, boolean distributeScale, int oversample, int powerIterations, long seed) {
        public Options {
            if (rank <= 0) {
                throw new IllegalArgumentException("rank must be positive, got " + rank);
            }
            if (oversample < 0 || powerIterations < 0) {
                throw new IllegalArgumentException("oversample and powerIterations must not be negative");
            }
        }

        /** rank r with mergekit's sqrt(S) split, 10 extra directions, 2 power iterations, seed 0. */
        public static Options rank(int rank) {
            return new Options(rank, true, 10, 2, 0);
        }
    }

    /**
     * What was extracted. The arrays belong to the manager given to {@code extract}.
     *
     * @param modules        one LoRA module per linear target, alpha = its rank (scale 1)
     * @param relativeErrors target -> ||delta - B A||_F / ||delta||_F (0 for an all-zero delta)
     * @param replacements   target -> fine-tuned values, for the {@code keepWhole} tensors
     * @param skipped        changed tensors that are neither a linear target nor kept whole
     */
    public record Result(List<PeftLoraWriter.Module> modules, SequencedMap<String, Double> relativeErrors,
            SequencedMap<String, NDArray> replacements, List<String> skipped) {
        public Result {
            modules = List.copyOf(modules);
            relativeErrors = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(relativeErrors));
            replacements = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(replacements));
            skipped = List.copyOf(skipped);
        }

        /** The largest relative error over the targets (0 if none). */
        public double maxRelativeError() {
            return relativeErrors.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
        }

        /** Writes the adapter in PEFT's format ({@link PeftLoraWriter}). */
        public void write(Path dir, String baseModelNameOrPath) {
            PeftLoraWriter.write(dir, baseModelNameOrPath, modules, replacements);
        }
    }

    /** Extracts the linear targets of {@code source}; every other changed tensor is skipped. */
    public static Result extract(DeltaSource source, Options options, NDManager manager) {
        return extract(source, null, Set.of(), options, manager);
    }

    /**
     * Extracts the linear targets of {@code source}, and keeps the targets in {@code keepWhole} as whole
     * fine-tuned tensors (base + delta, which needs {@code base}).
     */
    public static Result extract(DeltaSource source, Weights base, Set<String> keepWhole, Options options,
            NDManager manager) {
        Objects.requireNonNull(options, "options");
        for (String name : keepWhole) {
            if (!source.targets().contains(name)) {
                throw new IllegalArgumentException("keepWhole names '" + name + "', which '" + source.name()
                        + "' does not change");
            }
        }
        if (!keepWhole.isEmpty()) {
            Objects.requireNonNull(base, "base (needed to keep tensors whole)");
        }
        List<PeftLoraWriter.Module> modules = new ArrayList<>();
        SequencedMap<String, Double> errors = new LinkedHashMap<>();
        SequencedMap<String, NDArray> replacements = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        for (String target : source.targets()) {
            if (keepWhole.contains(target)) {
                try (NDManager scratch = manager.newSubManager()) {
                    NDArray delta = source.delta(target, scratch);
                    NDArray held = base.tensor(target);
                    NDArray base32 = held;
                    if (held.getDataType() != DataType.FLOAT32) {
                        base32 = held.toType(DataType.FLOAT32, true); // created in the base's manager: move it
                        base32.attach(scratch);
                    }
                    NDArray whole = delta.add(base32);
                    whole.attach(manager);
                    replacements.put(target, whole);
                }
            } else if (isLinearTarget(target)) {
                try (NDManager scratch = manager.newSubManager()) {
                    NDArray delta = source.delta(target, scratch);
                    Factors f = decompose(delta, options, seed(options.seed(), target), scratch);
                    errors.put(target, relativeError(delta, f.a(), f.b()));
                    f.a().attach(manager);
                    f.b().attach(manager);
                    modules.add(new PeftLoraWriter.Module(target, f.a(), f.b(), f.a().getShape().get(0)));
                }
            } else {
                skipped.add(target);
            }
        }
        return new Result(modules, errors, replacements, skipped);
    }

    /** The seven projections of a decoder layer; not lm_head (as PEFT's all-linear and mergekit). */
    public static boolean isLinearTarget(String target) {
        return PeftLoraAdapter.isLinear(target) && !target.equals(TensorLayout.LM_HEAD);
    }

    record Factors(NDArray a, NDArray b) {}

    /** Rank-r factors of an (m, n) fp32 delta, allocated in {@code manager}: B (m, r), A (r, n). */
    static Factors decompose(NDArray delta, Options options, long seed, NDManager manager) {
        long[] shape = delta.getShape().getShape();
        if (shape.length != 2) {
            throw new IllegalArgumentException("SVD needs a matrix, got shape " + delta.getShape());
        }
        int m = Math.toIntExact(shape[0]);
        int n = Math.toIntExact(shape[1]);
        int r = Math.min(options.rank(), Math.min(m, n));
        int k = Math.min(r + options.oversample(), Math.min(m, n));
        Svd svd = randomizedSvd(delta, m, n, k, options.powerIterations(), seed, manager);
        float[] b = new float[m * r];
        float[] a = new float[r * n];
        for (int j = 0; j < r; j++) {
            double s = svd.sigma[j];
            double sb = options.distributeScale() ? Math.sqrt(s) : 1;
            double sa = options.distributeScale() ? Math.sqrt(s) : s;
            for (int i = 0; i < m; i++) {
                b[i * r + j] = (float) (svd.u[i * k + j] * sb);
            }
            for (int i = 0; i < n; i++) {
                a[j * n + i] = (float) (svd.v[i * k + j] * sa);
            }
        }
        return new Factors(manager.create(a, new Shape(r, n)), manager.create(b, new Shape(m, r)));
    }

    /**
     * ||delta - B A||_F / ||delta||_F; 0 for an all-zero delta. The sums of squares run in fp32 in the engine
     * (libtorch sums in blocks, so the result is accurate to about 1e-6 relative, ample for a report).
     */
    static double relativeError(NDArray delta, NDArray a, NDArray b) {
        try (NDManager scratch = delta.getManager().newSubManager()) {
            NDArray approx = b.matMul(a);
            approx.attach(scratch);
            NDArray residual = delta.sub(approx);
            residual.attach(scratch);
            double num = sumOfSquares(residual, scratch);
            double den = sumOfSquares(delta, scratch);
            return den == 0 ? 0 : Math.sqrt(num / den);
        }
    }

    private static double sumOfSquares(NDArray x, NDManager scratch) {
        NDArray squares = x.square();
        squares.attach(scratch);
        NDArray sum = squares.sum();
        sum.attach(scratch);
        return sum.getFloat();
    }

    /**
     * Top-k singular triplets, sigma descending: u (m, k) and v (n, k) row-major in double, delta ~ u diag(sigma)
     * v^T.
     */
    record Svd(double[] u, double[] sigma, double[] v) {}

    static Svd randomizedSvd(NDArray delta, int m, int n, int k, int powerIterations, long seed, NDManager manager) {
        try (NDManager scratch = manager.newSubManager()) {
            SplittableRandom random = new SplittableRandom(seed);
            float[] omega = new float[n * k];
            for (int i = 0; i < omega.length; i++) {
                omega[i] = (float) random.nextGaussian();
            }
            NDArray deltaT = delta.transpose();
            deltaT.attach(scratch);
            double[] q = householderQ(product(delta, scratch.create(omega, new Shape(n, k)), scratch), m, k);
            for (int it = 0; it < powerIterations; it++) {
                double[] z = householderQ(product(deltaT, toArray(q, m, k, scratch), scratch), n, k);
                q = householderQ(product(delta, toArray(z, n, k, scratch), scratch), m, k);
            }
            // small = Q^T delta (k, n); its transpose M = delta^T Q (n, k) = Q2 R; R = W S V^T (one-sided Jacobi).
            double[] mt = product(deltaT, toArray(q, m, k, scratch), scratch); // (n, k)
            double[] q2 = householderQ(mt, n, k);
            double[] rr = transposeTimes(q2, mt, n, k);                      // R = Q2^T M (k, k)
            double[][] jacobi = oneSidedJacobi(rr, k);                         // {W S (k, k), V (k, k)}
            double[] ws = jacobi[0];
            double[] vk = jacobi[1];
            // M = Q2 (W S) V^T, so small = M^T = V S (Q2 W)^T: left vectors of small are V, right ones Q2 W.
            Integer[] order = new Integer[k];
            double[] sigma = new double[k];
            for (int j = 0; j < k; j++) {
                order[j] = j;
                double s = 0;
                for (int i = 0; i < k; i++) {
                    s += ws[i * k + j] * ws[i * k + j];
                }
                sigma[j] = Math.sqrt(s);
            }
            java.util.Arrays.sort(order, (x, y) -> Double.compare(sigma[y], sigma[x]));
            double[] sortedSigma = new double[k];
            double[] w = new double[k * k]; // W with columns in sigma order, normalized
            double[] vSorted = new double[k * k];
            for (int jj = 0; jj < k; jj++) {
                int j = order[jj];
                double s = sigma[j];
                sortedSigma[jj] = s;
                for (int i = 0; i < k; i++) {
                    w[i * k + jj] = s > 0 ? ws[i * k + j] / s : 0;
                    vSorted[i * k + jj] = vk[i * k + j];
                }
            }
            double[] u = times(q, vSorted, m, k, k);   // delta's left vectors: Q V (m, k)
            double[] v = times(q2, w, n, k, k);        // delta's right vectors: Q2 W (n, k)
            return new Svd(u, sortedSigma, v);
        }
    }

    /** x @ y with y (rows, k) given as an array, returned row-major in double. */
    private static double[] product(NDArray x, NDArray y, NDManager scratch) {
        NDArray p = x.matMul(y);
        p.attach(scratch);
        float[] values = p.toFloatArray();
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static NDArray toArray(double[] values, int rows, int cols, NDManager scratch) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        return scratch.create(f, new Shape(rows, cols));
    }

    /**
     * The thin Q (rows, cols) of a Householder QR of {@code a} (rows, cols; rows >= cols), both row-major. A
     * rank-deficient input still gives orthonormal columns (a zero column's reflector is skipped). Works on
     * column arrays internally, so every inner loop runs over contiguous memory.
     */
    static double[] householderQ(double[] a, int rows, int cols) {
        double[][] r = new double[cols][rows];
        for (int i = 0; i < rows; i++) {
            for (int c = 0; c < cols; c++) {
                r[c][i] = a[i * cols + c];
            }
        }
        double[][] reflectors = new double[cols][];
        for (int j = 0; j < cols; j++) {
            double[] x = r[j];
            double norm = 0;
            for (int i = j; i < rows; i++) {
                norm += x[i] * x[i];
            }
            norm = Math.sqrt(norm);
            if (norm == 0) {
                continue;
            }
            double alpha = x[j] > 0 ? -norm : norm;
            double[] v = new double[rows]; // entries below j are unused zeros
            System.arraycopy(x, j, v, j, rows - j);
            v[j] -= alpha;
            double vnorm = 0;
            for (int i = j; i < rows; i++) {
                vnorm += v[i] * v[i];
            }
            vnorm = Math.sqrt(vnorm);
            if (vnorm == 0) {
                continue;
            }
            for (int i = j; i < rows; i++) {
                v[i] /= vnorm;
            }
            reflectors[j] = v;
            for (int c = j; c < cols; c++) {
                reflect(v, r[c], j, rows);
            }
        }
        double[][] q = new double[cols][rows];
        for (int j = 0; j < cols; j++) {
            q[j][j] = 1;
        }
        for (int j = cols - 1; j >= 0; j--) {
            if (reflectors[j] != null) {
                for (int c = 0; c < cols; c++) {
                    reflect(reflectors[j], q[c], j, rows);
                }
            }
        }
        double[] out = new double[rows * cols];
        for (int c = 0; c < cols; c++) {
            for (int i = 0; i < rows; i++) {
                out[i * cols + c] = q[c][i];
            }
        }
        return out;
    }

    /** x = (I - 2 v v^T) x over rows [from, rows). */
    private static void reflect(double[] v, double[] x, int from, int rows) {
        double dot = 0;
        for (int i = from; i < rows; i++) {
            dot += v[i] * x[i];
        }
        if (dot != 0) {
            double f = 2 * dot;
            for (int i = from; i < rows; i++) {
                x[i] -= f * v[i];
            }
        }
    }

    /** x^T y for x, y (rows, cols): (cols, cols). */
    private static double[] transposeTimes(double[] x, double[] y, int rows, int cols) {
        double[] out = new double[cols * cols];
        for (int i = 0; i < rows; i++) {
            for (int a = 0; a < cols; a++) {
                double xa = x[i * cols + a];
                if (xa == 0) {
                    continue;
                }
                for (int b = 0; b < cols; b++) {
                    out[a * cols + b] += xa * y[i * cols + b];
                }
            }
        }
        return out;
    }

    /** x (rows, inner) @ y (inner, cols). */
    private static double[] times(double[] x, double[] y, int rows, int inner, int cols) {
        double[] out = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int p = 0; p < inner; p++) {
                double xp = x[i * inner + p];
                if (xp == 0) {
                    continue;
                }
                for (int j = 0; j < cols; j++) {
                    out[i * cols + j] += xp * y[p * cols + j];
                }
            }
        }
        return out;
    }

    /**
     * One-sided (Hestenes) Jacobi on a square {@code a} (k, k): rotates column pairs until all columns are
     * orthogonal, so that a V = W S with V orthogonal. Returns {a V (columns orthogonal, norms = singular values),
     * V}.
     */
    static double[][] oneSidedJacobi(double[] a, int k) {
        double[] w = a.clone();
        double[] v = new double[k * k];
        for (int i = 0; i < k; i++) {
            v[i * k + i] = 1;
        }
        for (int sweep = 0; sweep < 60; sweep++) {
            boolean rotated = false;
            for (int p = 0; p < k - 1; p++) {
                for (int q = p + 1; q < k; q++) {
                    double alpha = 0;
                    double beta = 0;
                    double gamma = 0;
                    for (int i = 0; i < k; i++) {
                        double x = w[i * k + p];
                        double y = w[i * k + q];
                        alpha += x * x;
                        beta += y * y;
                        gamma += x * y;
                    }
                    if (gamma == 0 || Math.abs(gamma) <= 1e-14 * Math.sqrt(alpha * beta)) {
                        continue;
                    }
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = c * t;
                    rotate(w, k, p, q, c, s);
                    rotate(v, k, p, q, c, s);
                }
            }
            if (!rotated) {
                break;
            }
        }
        return new double[][] {w, v};
    }

    private static void rotate(double[] x, int k, int p, int q, double c, double s) {
        for (int i = 0; i < k; i++) {
            double xp = x[i * k + p];
            double xq = x[i * k + q];
            x[i * k + p] = c * xp - s * xq;
            x[i * k + q] = s * xp + c * xq;
        }
    }

    /** FNV-1a of the target name mixed into the seed: each target gets its own projection, stable across runs. */
    static long seed(long seed, String target) {
        long h = 0xcbf29ce484222325L;
        for (byte b : target.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        long z = seed ^ h;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
