package dev.realign.model.matvec;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The NDArray side: zero-copy views, the fall-backs, bias, and results against libtorch. */
class DecodeLinearTest {
    @Test
    void matchesLibtorchForF32AndF16WithAndWithoutBias() {
        try (NDManager m = NDManager.newBaseManager()) {
            for (DataType type : new DataType[] {DataType.FLOAT32, DataType.FLOAT16}) {
                NDArray w = m.randomNormal(new Shape(37, 53)).toType(type, false);  // (out, in)
                NDArray b = m.randomNormal(new Shape(37)).toType(type, false);      // (out)
                for (int rows = 1; rows <= DecodeLinear.MAX_ROWS; rows++) {
                    try (NDManager step = m.newSubManager()) {
                        NDArray x = step.randomNormal(new Shape(rows, 53));          // (rows, in)
                        NDArray wide = w.toType(DataType.FLOAT32, true);
                        wide.attach(step);
                        NDArray wideBias = b.toType(DataType.FLOAT32, true);
                        wideBias.attach(step);
                        NDArray want = Linear.linear(x, wide, wideBias).singletonOrThrow();
                        NDArray got = DecodeLinear.tryLinear(x, w, b);
                        if (type == DataType.FLOAT16 && rows == 1) {
                            assertThat(got).as("one F16 row stays on libtorch").isNull();
                            continue;
                        }
                        assertThat(got).isNotNull();
                        assertThat(got.getDataType()).isEqualTo(DataType.FLOAT32);
                        assertThat(got.getShape()).isEqualTo(new Shape(rows, 37));
                        assertThat(got.getManager()).isSameAs(step);
                        assertThat(got.allClose(want, 1e-5, 1e-5, false)).as("%s rows %d", type, rows).isTrue();
                        NDArray noBias = DecodeLinear.tryLinear(x, w, null);
                        assertThat(noBias.allClose(Linear.linear(x, wide).singletonOrThrow(), 1e-5, 1e-5, false)).isTrue();
                    }
                }
            }
        }
    }

    @Test
    void readsAMemoryMappedStyleReadOnlyBufferInPlace() {
        try (NDManager m = NDManager.newBaseManager()) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(6 * 4).order(ByteOrder.nativeOrder());
            for (int i = 0; i < 6; i++) {
                buffer.putFloat(i * 4, i + 1);                   // W = [[1 2 3], [4 5 6]]
            }
            NDArray w = m.create(buffer.asReadOnlyBuffer().order(ByteOrder.nativeOrder()), new Shape(2, 3), DataType.FLOAT32);
            WeightView view = WeightViews.of(w).orElseThrow();
            assertThat(view.data().address()).isEqualTo(java.lang.foreign.MemorySegment.ofBuffer(buffer).address());
            assertThat(WeightViews.of(w).orElseThrow()).isSameAs(view); // cached per tensor
            NDArray y = DecodeLinear.tryLinear(m.create(new float[] {1, 0, -1}, new Shape(1, 3)), w, null);
            assertThat(y.toFloatArray()).containsExactly(-2f, -2f);
        }
    }

    @Test
    void fallsBackWhenAGradientIsNeededOrTheWeightCannotBeReadInPlace() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.randomNormal(new Shape(8, 8));
            NDArray x = m.randomNormal(new Shape(1, 8));
            assertThat(DecodeLinear.tryLinear(x, w, null)).isNotNull();

            NDArray trainedX = m.randomNormal(new Shape(1, 8));
            trainedX.setRequiresGradient(true);
            assertThat(DecodeLinear.tryLinear(trainedX, w, null)).as("x requires grad").isNull();
            NDArray trainedW = m.randomNormal(new Shape(8, 8));
            trainedW.setRequiresGradient(true);
            assertThat(DecodeLinear.tryLinear(x, trainedW, null)).as("W requires grad").isNull();
            NDArray trainedB = m.zeros(new Shape(8));
            trainedB.setRequiresGradient(true);
            assertThat(DecodeLinear.tryLinear(x, w, trainedB)).as("b requires grad").isNull();

            assertThat(DecodeLinear.tryLinear(m.randomNormal(new Shape(DecodeLinear.MAX_ROWS + 1, 8)), w, null))
                    .as("too many rows").isNull();
            assertThat(WeightViews.of(w.transpose())).as("a transposed view is not contiguous").isEmpty();
            assertThat(WeightViews.of(w.toType(DataType.FLOAT64, false))).as("f64").isEmpty();

            NDArray infinite = m.create(new float[] {1, Float.POSITIVE_INFINITY, 2, 3}, new Shape(2, 2)).toType(DataType.FLOAT16, false);
            assertThat(WeightViews.of(infinite)).as("an F16 matrix with Inf").isEmpty();
            NDArray nan = m.create(new float[] {1, Float.NaN, 2, 3}, new Shape(2, 2)).toType(DataType.FLOAT16, false);
            assertThat(WeightViews.of(nan)).as("an F16 matrix with NaN").isEmpty();

            NDArray closed = m.randomNormal(new Shape(8, 8));
            assertThat(WeightViews.of(closed)).isPresent();
            closed.close();
            assertThat(WeightViews.of(closed)).as("a closed tensor is never read").isEmpty();
        }
    }

    @Test
    void switchedOffItLeavesEveryProductToLibtorch() {
        try (NDManager m = NDManager.newBaseManager()) {
            boolean before = DecodeLinear.setEnabled(false);
            try {
                assertThat(DecodeLinear.tryLinear(m.randomNormal(new Shape(1, 8)), m.randomNormal(new Shape(8, 8)), null)).isNull();
            } finally {
                DecodeLinear.setEnabled(before);
            }
        }
    }
}
