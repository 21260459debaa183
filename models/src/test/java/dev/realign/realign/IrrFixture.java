package dev.realign.realign;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.RandomLora;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.ProjectionKind;
import dev.realign.model.Weights;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.train.TrainingSequence;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A tiny IRR problem built from scratch: a random fp32 Llama-3-style model as the aligned one, a random LoRA
 * adapter on all seven projections (folded) as the fine-tune, the aligned model minus a random vector as the
 * unaligned one, and random token sequences as safety and calibration data.
 */
final class IrrFixture implements AutoCloseable {
    final LoadedModel aligned;
    final NDManager manager;
    final DeltaSource lora;
    final Map<String, NDArray> delta;
    final Weights unaligned;
    final List<TrainingSequence> safety;
    final List<int[]> calibration;

    IrrFixture(Path dir, long seed) {
        Path model = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, seed), dir.resolve("aligned"));
        aligned = LoadedModel.load("aligned", model, Device.cpu(), ComputeType.F32);
        manager = aligned.manager().newSubManager();
        Path adapter = RandomLora.write(dir.resolve("lora"), aligned.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.1,
                seed + 1);
        lora = Adapters.load("ft", adapter, aligned);
        delta = IrrInputs.deltasOf(lora, manager);
        SplittableRandom random = new SplittableRandom(seed + 2);
        Map<String, NDArray> unalignedTensors = new LinkedHashMap<>();
        for (int layer = 0; layer < aligned.config().numLayers(); layer++) {
            for (ProjectionKind kind : ProjectionKind.values()) {
                String name = kind.weightName(layer);
                NDArray w = aligned.weights().tensor(name);
                float[] v = new float[Math.toIntExact(w.size())];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (0.02 * random.nextGaussian());
                }
                unalignedTensors.put(name, w.sub(manager.create(v, w.getShape()))); // W_u = W_a - v
            }
        }
        unaligned = aligned.weights().withOverrides(unalignedTensors);
        safety = new ArrayList<>();
        for (int s = 0; s < 4; s++) {
            safety.add(new TrainingSequence(tokens(random, 8 + s), 4));
        }
        calibration = new ArrayList<>();
        for (int s = 0; s < 6; s++) {
            calibration.add(tokens(random, 12 + s));
        }
    }

    private static int[] tokens(SplittableRandom random, int count) {
        int[] t = new int[count];
        for (int i = 0; i < count; i++) {
            t[i] = random.nextInt(SyntheticModels.TOKENIZER_BPE_VOCAB);
        }
        return t;
    }

    IrrInputs inputs() {
        return new IrrInputs(aligned.weights(), delta, unaligned, safety, calibration);
    }

    IrrResult run(IrrParameters params) {
        return new Irr(aligned.model()).run(inputs(), params, manager, p -> {}, Cancellation.NEVER);
    }

    /** v = W_a - W_u of one tensor, row-major. */
    float[] safetyVector(String name) {
        float[] a = aligned.weights().tensor(name).toFloatArray();
        float[] u = unaligned.tensor(name).toFloatArray();
        float[] v = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            v[i] = a[i] - u[i];
        }
        return v;
    }

    @Override
    public void close() {
        lora.close();
        manager.close();
        aligned.close();
    }
}
