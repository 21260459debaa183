package dev.realign.merge.methods;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Test data: fp32-representable doubles, so the NDArrays and the double reference see identical inputs. */
final class Fixtures {
    static final double TOL = 1e-5;

    private Fixtures() {}

    static NDManager manager() {
        return NDManager.newBaseManager(Device.cpu(), "PyTorch");
    }

    static double[] gaussian(SplittableRandom rng, int n, double scale) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller; rounded to fp32 so both sides start from the same values
            double u = 1 - rng.nextDouble();
            double v = rng.nextDouble();
            x[i] = (float) (scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
        }
        return x;
    }

    static double[][] gaussians(SplittableRandom rng, int count, int n, double scale) {
        double[][] x = new double[count][];
        for (int i = 0; i < count; i++) {
            x[i] = gaussian(rng, n, scale);
        }
        return x;
    }

    static double[] weights(SplittableRandom rng, int count) {
        double[] w = new double[count];
        for (int i = 0; i < count; i++) {
            w[i] = (float) (0.2 + 1.3 * rng.nextDouble());
        }
        return w;
    }

    static NDArray nd(NDManager m, double[] x, Shape shape) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return m.create(f, shape);
    }

    static List<NDArray> nds(NDManager m, double[][] xs, Shape shape) {
        List<NDArray> out = new ArrayList<>();
        for (double[] x : xs) {
            out.add(nd(m, x, shape));
        }
        return out;
    }

    static double[] values(NDArray a) {
        float[] f = a.toType(DataType.FLOAT32, false).toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** Elementwise |actual - expected| <= TOL * max(1, |expected|), and the result's form. */
    static void assertMatches(NDArray actual, double[] expected, Shape shape) {
        assertThat(actual.getDataType()).isEqualTo(DataType.FLOAT32);
        assertThat(actual.getShape()).isEqualTo(shape);
        double[] got = values(actual);
        assertThat(got).hasSize(expected.length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < got.length; i++) {
            double err = Math.abs(got[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
            if (!(err <= worst)) {
                worst = err;
                at = i;
            }
        }
        assertThat(worst).as("worst error at element %d: got %s, expected %s", at,
                at < 0 ? 0 : got[at], at < 0 ? 0 : expected[at]).isLessThanOrEqualTo(TOL);
    }
}
