package dev.realign.merge.methods;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * An independent double-precision reference of every merge method, written from MERGE_SEMANTICS.md and the
 * production javadoc, over flat row-major {@code double[]} tensors with plain loops. It calls no production
 * code. The only fp32 arithmetic here is DELLA's keep probability, computed the way fp32 rounds it, so that
 * the comparison {@code u < p} decides identically (a double p could flip an entry sitting on the boundary).
 */
final class Reference {
    private Reference() {}

    // ---------------------------------------------------------------- sparsifiers

    /** Flat indices ordered by |x| descending, ties by index ascending. */
    static Integer[] byMagnitudeDesc(double[] x) {
        Integer[] idx = IntStream.range(0, x.length).boxed().toArray(Integer[]::new);
        Arrays.sort(idx, Comparator.<Integer>comparingDouble(i -> -Math.abs(x[i])).thenComparingInt(i -> i));
        return idx;
    }

    static double[] magnitude(double[] x, double density, boolean rescale) {
        if (density >= 1) {
            return x.clone();
        }
        int k = (int) Math.floor(density * x.length);
        Integer[] order = byMagnitudeDesc(x);
        boolean[] keep = new boolean[x.length];
        for (int r = 0; r < k; r++) {
            keep[order[r]] = true;
        }
        return apply(x, keep, rescale);
    }

    static double[] magnitudeOutliers(double[] x, double density, double gamma, boolean rescale) {
        if (density >= 1) {
            return x.clone();
        }
        int n = x.length;
        int target = (int) Math.floor(density * n);
        int nTop = (int) Math.floor(gamma * n);
        int nBot = n - target - nTop;
        if (nBot < 0) {
            nTop += nBot;
            nBot = 0;
        }
        // ascending ranks [nBot, n - nTop) are descending positions [nTop, n - nBot)
        Integer[] order = byMagnitudeDesc(x);
        boolean[] keep = new boolean[n];
        for (int r = nTop; r < n - nBot; r++) {
            keep[order[r]] = true;
        }
        return apply(x, keep, rescale);
    }

    /** The documented draw u_j of element j (see SeededUniforms' javadoc), re-derived here. */
    static double[] uniforms(long seed, String tensor, int adapter, int n) {
        long h = 0xCBF29CE484222325L;
        for (byte b : tensor.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001B3L;
        }
        long key = stafford(stafford(seed ^ h) + (adapter + 1L) * 0x9E3779B97F4A7C15L);
        double[] u = new double[n];
        SplittableRandom rng = null;
        for (int j = 0; j < n; j++) {
            if (j % 65536 == 0) {
                rng = new SplittableRandom(stafford(key + (j / 65536 + 1L) * 0xD1B54A32D192ED03L));
            }
            u[j] = (rng.nextInt() >>> 8) / 16777216.0;
        }
        return u;
    }

    private static long stafford(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static double[] random(double[] x, double density, boolean rescale, long seed, String tensor, int adapter) {
        if (density >= 1) {
            return x.clone();
        }
        double[] u = uniforms(seed, tensor, adapter, x.length);
        boolean[] keep = new boolean[x.length];
        for (int j = 0; j < x.length; j++) {
            keep[j] = u[j] < density;
        }
        return apply(x, keep, rescale);
    }

    static double[] della(double[] x, int rows, double density, double epsilon, boolean rescale, long seed,
            String tensor, int adapter) {
        if (density >= 1) {
            return x.clone();
        }
        int cols = x.length / rows;
        double[] u = uniforms(seed, tensor, adapter, x.length);
        boolean[] keep = new boolean[x.length];
        float step = (float) (2 * epsilon / (cols - 1));
        float low = (float) (density - epsilon);
        for (int r = 0; r < rows; r++) {
            final int row = r;
            Integer[] asc = IntStream.range(0, cols).boxed().toArray(Integer[]::new);
            // ascending |x|; equal magnitudes: the lower index counts as larger (so comes later)
            Arrays.sort(asc, Comparator.<Integer>comparingDouble(c -> Math.abs(x[row * cols + c]))
                    .thenComparing(Comparator.<Integer>reverseOrder()));
            for (int rank = 0; rank < cols; rank++) {
                int j = row * cols + asc[rank];
                float p = (float) rank * step + low;
                keep[j] = u[j] < p;
            }
        }
        return apply(x, keep, rescale);
    }

    private static double[] apply(double[] x, boolean[] keep, boolean rescale) {
        double[] out = new double[x.length];
        double before = 0;
        double after = 0;
        for (int j = 0; j < x.length; j++) {
            out[j] = keep[j] ? x[j] : 0;
            before += Math.abs(x[j]);
            after += Math.abs(out[j]);
        }
        if (rescale && before >= 1e-7 && after >= 1e-7) {
            for (int j = 0; j < x.length; j++) {
                out[j] *= before / after;
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- generalized task arithmetic

    /** Already sparsified deltas, weights, consensus ("sum", "count" or null), normalize, lambda. */
    static double[] gta(double[] base, double[][] sparse, double[] w, String consensus, boolean normalize,
            double lambda) {
        int n = base.length;
        double[] out = new double[n];
        for (int j = 0; j < n; j++) {
            double mixed = 0;
            double divisor = 0;
            if (consensus == null) {
                for (int i = 0; i < sparse.length; i++) {
                    mixed += w[i] * sparse[i][j];
                    divisor += w[i];
                }
                if (Math.abs(divisor) < 1e-8) {
                    divisor = 1;
                }
            } else {
                double vote = 0;
                for (int i = 0; i < sparse.length; i++) {
                    double wd = w[i] * sparse[i][j];
                    vote += consensus.equals("sum") ? wd : Math.signum(wd);
                }
                double majority = vote >= 0 ? 1 : -1;
                for (int i = 0; i < sparse.length; i++) {
                    double wd = w[i] * sparse[i][j];
                    if (Math.signum(wd) == majority) {
                        mixed += wd;
                        divisor += w[i];
                    }
                }
                if (divisor == 0) {
                    divisor = 1;
                }
            }
            if (normalize) {
                mixed /= divisor;
            }
            out[j] = base[j] + lambda * mixed;
        }
        return out;
    }

    // ---------------------------------------------------------------- other methods

    static double[] linear(double[] base, double[][] deltas, double[] w, boolean normalize) {
        double sum = Arrays.stream(w).sum();
        double[] out = base.clone();
        for (int j = 0; j < base.length; j++) {
            double mixed = 0;
            for (int i = 0; i < deltas.length; i++) {
                mixed += w[i] * deltas[i][j];
            }
            out[j] += normalize ? mixed / sum : mixed;
        }
        return out;
    }

    static double[] mergekitLinear(double[][] models, double[] w, boolean normalize) {
        double sum = Arrays.stream(w).sum();
        double[] out = new double[models[0].length];
        for (int j = 0; j < out.length; j++) {
            for (int i = 0; i < models.length; i++) {
                out[j] += w[i] * models[i][j];
            }
            if (normalize) {
                out[j] /= sum;
            }
        }
        return out;
    }

    static double[] slerp(double[] base, double[] delta, double t) {
        int n = base.length;
        double[] other = new double[n];
        double na = 0;
        double nb = 0;
        for (int j = 0; j < n; j++) {
            other[j] = base[j] + delta[j];
            na += base[j] * base[j];
            nb += other[j] * other[j];
        }
        na = Math.sqrt(na);
        nb = Math.sqrt(nb);
        double dot = 0;
        for (int j = 0; j < n; j++) {
            dot += (na > 1e-8 ? base[j] / na : base[j]) * (nb > 1e-8 ? other[j] / nb : other[j]);
        }
        double s0;
        double s1;
        if (Math.abs(dot) > 0.9995) {
            s0 = 1 - t;
            s1 = t;
        } else {
            double theta = Math.acos(dot);
            s0 = Math.sin((1 - t) * theta) / Math.sin(theta);
            s1 = Math.sin(t * theta) / Math.sin(theta);
        }
        double[] out = new double[n];
        for (int j = 0; j < n; j++) {
            out[j] = s0 * base[j] + s1 * other[j];
        }
        return out;
    }

    /** rowLength = the whole tensor (not filter-wise) or its last dimension (filter-wise). */
    static double[] modelStock(double[] base, double[][] deltas, int rowLength) {
        int n = deltas.length;
        double[] out = new double[base.length];
        for (int start = 0; start < base.length; start += rowLength) {
            double cos = 0;
            int pairs = 0;
            for (int i = 0; i < n; i++) {
                for (int k = i + 1; k < n; k++) {
                    double dot = 0;
                    double ni = 0;
                    double nk = 0;
                    for (int j = start; j < start + rowLength; j++) {
                        dot += deltas[i][j] * deltas[k][j];
                        ni += deltas[i][j] * deltas[i][j];
                        nk += deltas[k][j] * deltas[k][j];
                    }
                    double c = dot / Math.max(Math.sqrt(ni) * Math.sqrt(nk), 1e-6);
                    cos += Math.max(-1, Math.min(1, c));
                    pairs++;
                }
            }
            cos /= pairs;
            double t = n * cos / (1 + (n - 1) * cos);
            for (int j = start; j < start + rowLength; j++) {
                double mean = 0;
                for (double[] d : deltas) {
                    mean += d[j] / n;
                }
                out[j] = base[j] + t * mean;
            }
        }
        return out;
    }

    static double[] safetyVector(double[] base, double[][] deltas, double[] w, double lambda) {
        double[] out = new double[base.length];
        for (int j = 0; j < base.length; j++) {
            double unsafe = 0;
            for (int i = 1; i < deltas.length; i++) {
                unsafe += w[i] * deltas[i][j];
            }
            out[j] = base[j] + w[0] * deltas[0][j] - lambda * unsafe;
        }
        return out;
    }

    /** Safe LoRA on an (out, in) tensor; returns the result and, in cosOut[0], the cosine. */
    static double[] safeLora(double[] base, double[] task, double[] unsafe, int out, int in, double w0,
            double threshold, double[] cosOut) {
        double[] v = new double[unsafe.length];
        double fro = 0;
        for (int j = 0; j < v.length; j++) {
            v[j] = -unsafe[j];
            fro += v[j] * v[j];
        }
        fro = Math.sqrt(fro);
        // C = V V^T / |V|_F, (out, out)
        double[] c = new double[out * out];
        for (int r = 0; r < out; r++) {
            for (int s = 0; s < out; s++) {
                double acc = 0;
                for (int k = 0; k < in; k++) {
                    acc += v[r * in + k] * v[s * in + k];
                }
                c[r * out + s] = acc / fro;
            }
        }
        double[] p = new double[task.length];
        for (int r = 0; r < out; r++) {
            for (int k = 0; k < in; k++) {
                double acc = 0;
                for (int s = 0; s < out; s++) {
                    acc += c[r * out + s] * task[s * in + k];
                }
                p[r * in + k] = acc;
            }
        }
        double dot = 0;
        double np = 0;
        double nd = 0;
        for (int j = 0; j < p.length; j++) {
            dot += p[j] * task[j];
            np += p[j] * p[j];
            nd += task[j] * task[j];
        }
        double cos = dot / Math.max(Math.sqrt(np) * Math.sqrt(nd), 1e-8);
        cosOut[0] = cos;
        double[] chosen = cos <= threshold ? p : task;
        double[] result = new double[base.length];
        for (int j = 0; j < base.length; j++) {
            result[j] = base[j] + w0 * chosen[j];
        }
        return result;
    }
}
