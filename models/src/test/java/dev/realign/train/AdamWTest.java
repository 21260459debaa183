package dev.realign.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.Test;

/** AdamW against a double-precision loop of the same formulas (Loshchilov and Hutter, decoupled decay). */
class AdamWTest {
    @Test
    void threeStepsMatchADoublePrecisionReference() {
        float[] start = {0.5f, -1.25f, 2f, 0.01f, -0.3f, 1.5f};
        double[] target = {1, 0, -1, 2, 0.5, -0.5};
        OptimizerSettings settings = new OptimizerSettings(3, 1, 0.05, 0, 0.1, 0.1, 0.9, 0.95, 1e-8, 0, 1);
        double[] reference = new double[start.length];
        double[] m = new double[start.length];
        double[] v = new double[start.length];
        for (int i = 0; i < start.length; i++) {
            reference[i] = start[i];
        }
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            NDArray w = manager.create(start, new ai.djl.ndarray.types.Shape(2, 3));
            try (AdamW optimizer = new AdamW(List.of(new TrainableParameter("w", w, true)), settings, manager)) {
                for (int step = 1; step <= 3; step++) {
                    // loss = sum((w - target)^2) / 2, gradient w - target
                    double lr = settings.learningRateAt(step - 1);
                    try (NDManager scope = manager.newSubManager()) {
                        NDArray leaf = w.duplicate();
                        leaf.attach(scope);
                        leaf.setRequiresGradient(true);
                        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                            NDArray t = scope.create(toFloat(target), new ai.djl.ndarray.types.Shape(2, 3));
                            collector.backward(leaf.sub(t).square().sum().div(2));
                        }
                        NDArray gradient = leaf.getGradient();
                        gradient.attach(scope);
                        optimizer.step(List.of(gradient), lr, 1);
                    }
                    for (int i = 0; i < reference.length; i++) {
                        double g = reference[i] - target[i];
                        m[i] = 0.9 * m[i] + 0.1 * g;
                        v[i] = 0.95 * v[i] + 0.05 * g * g;
                        reference[i] *= 1 - lr * 0.1;
                        double mHat = m[i] / (1 - Math.pow(0.9, step));
                        double vHat = v[i] / (1 - Math.pow(0.95, step));
                        reference[i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
                    }
                    float[] actual = w.toFloatArray();
                    for (int i = 0; i < actual.length; i++) {
                        assertThat((double) actual[i]).as("step %d element %d", step, i).isCloseTo(reference[i], within(1e-5));
                    }
                }
            }
        }
    }

    @Test
    void scheduleWarmsUpLinearlyThenDecaysByCosineToTheFloor() {
        OptimizerSettings s = new OptimizerSettings(110, 1, 1.0, 10, 0.1, 0, 0.9, 0.95, 1e-8, 0, 1);
        assertThat(s.learningRateAt(0)).isCloseTo(0.1, within(1e-12));
        assertThat(s.learningRateAt(9)).isCloseTo(1.0, within(1e-12));
        assertThat(s.learningRateAt(10)).isCloseTo(1.0, within(1e-12));
        assertThat(s.learningRateAt(60)).isCloseTo(0.1 + 0.9 * 0.5, within(1e-12)); // half way: cos = 0
        assertThat(s.learningRateAt(110)).isCloseTo(0.1, within(1e-12));
    }

    private static float[] toFloat(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
