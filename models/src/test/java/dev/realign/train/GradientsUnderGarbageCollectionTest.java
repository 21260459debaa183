package dev.realign.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.realign.model.LlamaModel;
import dev.realign.model.ModelConfig;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.realign.ConcreteMask;
import dev.realign.realign.DpoLoss;
import dev.realign.realign.SomfFusion;
import dev.realign.realign.SomfMerge;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backward pass reads only memory that libtorch owns. DJL's {@code NDArray.mul(Number)} and its siblings wrap the
 * number in a tensor over a Java direct buffer and close the wrapper right after the op; autograd still holds that
 * tensor, and once Java's collector had freed the buffer a backward pass read whatever had taken its place (the
 * trainer's "corrupt gradients", about one step in 75, and quietly wrong ones it could not see; {@code Scalars}
 * says more). Here the collector runs and small direct buffers full of 3.4e38 are allocated between the forward
 * and the backward pass, so that freed buffers are reused; the gradients must equal those of an undisturbed pass.
 * Before the fix the full-training case failed on its first round.
 */
class GradientsUnderGarbageCollectionTest {
    private static final List<TrainingSequence> BATCH = List.of(
            new TrainingSequence(new int[] {10, 20, 30, 40, 41, 50, 3}, 3),
            new TrainingSequence(new int[] {11, 20, 31, 42, 3}, 2));

    @TempDir
    Path dir;

    /** One differentiable computation: its leaves, and its scalar loss (called under a gradient collector). */
    private record Forward(List<NDArray> leaves, Supplier<NDArray> loss) {}

    @Test
    void fullTraining() {
        ModelConfig config = config();
        LlamaModel model = new LlamaModel(config, DataType.FLOAT32);
        try (NDManager root = NDManager.newBaseManager(Device.cpu());
             FullTraining trainable = FullTraining.initialize(config, 3, root)) {
            assertGradientsIgnoreGarbageCollection(root, scope -> {
                TrainableWeights.Binding binding = trainable.bind(scope);
                return new Forward(binding.leaves(), () -> CausalLmLoss.loss(model, binding.weights(), BATCH, scope));
            });
        }
    }

    @Test
    void loraTraining() {
        ModelConfig config = config();
        LlamaModel model = new LlamaModel(config, DataType.FLOAT32);
        try (NDManager root = NDManager.newBaseManager(Device.cpu());
             FullTraining base = FullTraining.initialize(config, 3, root);
             LoraTraining lora = LoraTraining.create(base.weights(), List.of("self_attn.q_proj", "self_attn.v_proj"),
                     2, 4, 5, root)) {
            assertGradientsIgnoreGarbageCollection(root, scope -> {
                TrainableWeights.Binding binding = lora.bind(scope);
                return new Forward(binding.leaves(), () -> CausalLmLoss.loss(model, binding.weights(), BATCH, scope));
            });
        }
    }

    /** SOMF's objective without the model: relaxed masks, their DARE fusion with a scale, and the DPO loss. */
    @Test
    void somfMaskObjective() {
        try (NDManager root = NDManager.newBaseManager(Device.cpu())) {
            Shape shape = new Shape(3, 4);
            NDArray logits = root.randomNormal(shape);
            NDArray taskVector = root.randomNormal(shape);
            Map<String, NDArray> noise = ConcreteMask.noise(Map.of("w", shape), new SplittableRandom(7), root);
            assertGradientsIgnoreGarbageCollection(root, scope -> {
                NDArray leaf = logits.duplicate();
                leaf.attach(scope);
                leaf.setRequiresGradient(true);
                return new Forward(List.of(leaf), () -> {
                    var masks = ConcreteMask.relaxed(Map.of("w", leaf), noise, 0.5);
                    NDArray delta = SomfFusion.delta(List.of(Map.of("w", taskVector)), masks, SomfMerge.DARE, 0.5, 9,
                            2, scope).get("w");                                           // (3, 4)
                    NDArray chosen = delta.sum(new int[] {1});                            // (3,)
                    NDArray rejected = delta.square().sum(new int[] {1}).neg();           // (3,)
                    return DpoLoss.loss(chosen, rejected, scope.zeros(new Shape(3)), scope.zeros(new Shape(3)), 0.1);
                });
            });
        }
    }

    private ModelConfig config() {
        return ModelConfig.load(SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.QWEN2, 5), dir.resolve("m")));
    }

    private static void assertGradientsIgnoreGarbageCollection(NDManager root, Function<NDManager, Forward> forward) {
        List<float[]> undisturbed = gradients(root, forward, false);
        assertThat(undisturbed).allSatisfy(g -> assertThat(g).as("a gradient").isNotEmpty());
        for (int round = 0; round < 3; round++) {
            List<float[]> disturbed = gradients(root, forward, true);
            for (int i = 0; i < undisturbed.size(); i++) {
                assertThat(disturbed.get(i)).as("leaf %d, round %d", i, round).containsExactly(undisturbed.get(i));
            }
        }
    }

    private static List<float[]> gradients(NDManager root, Function<NDManager, Forward> forward,
                                           boolean collectGarbage) {
        try (NDManager scope = root.newSubManager()) {
            Forward pass = forward.apply(scope);
            List<ByteBuffer> taken = List.of();
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray loss = pass.loss().get();
                if (collectGarbage) {
                    taken = collectAndReuseFreedBuffers();
                }
                collector.backward(loss);
            }
            List<float[]> gradients = new ArrayList<>();
            for (NDArray leaf : pass.leaves()) {
                gradients.add(leaf.getGradient().toFloatArray());
            }
            Reference.reachabilityFence(taken); // the reused buffers stay taken until after the backward pass
            return gradients;
        }
    }

    /** Collects garbage, lets the cleaner free unreachable direct buffers, then takes small ones back full of 3.4e38. */
    private static List<ByteBuffer> collectAndReuseFreedBuffers() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        List<ByteBuffer> taken = new ArrayList<>();
        for (int size : new int[] {4, 8, 4, 8}) {
            for (int i = 0; i < 2000; i++) {
                ByteBuffer buffer = ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
                while (buffer.hasRemaining()) {
                    buffer.put((byte) 0x7F);
                }
                taken.add(buffer);
            }
        }
        return taken;
    }
}
