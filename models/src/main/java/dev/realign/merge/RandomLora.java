package dev.realign.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.realign.model.TensorLayout;
import dev.realign.model.Weights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a random PEFT LoRA adapter for a base, from a seed: the test and benchmark stand-in for a real
 * fine-tune (no pretrained adapter can be downloaded here). Every layer's seven projections are targeted.
 */
public final class RandomLora {
    public static final List<String> ALL_PROJECTIONS = List.of("self_attn.q_proj", "self_attn.k_proj",
            "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

    private RandomLora() {}

    /**
     * @param std standard deviation of A's and B's entries (B is not zero, unlike a fresh PEFT init, so the
     *            adapter changes the model)
     */
    public static Path write(Path dir, Weights base, List<String> projections, int rank, double alpha, double std,
                             long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        try (NDManager manager = NDManager.newBaseManager()) {
            List<PeftLoraWriter.Module> modules = new ArrayList<>();
            for (int layer = 0; layer < base.config().numLayers(); layer++) {
                for (String projection : projections) {
                    String target = TensorLayout.layer(layer, projection + ".weight");
                    Shape shape = base.tensor(target).getShape(); // (out, in)
                    NDArray a = gaussian(manager, random, rank, shape.get(1), std);
                    NDArray b = gaussian(manager, random, shape.get(0), rank, std);
                    modules.add(new PeftLoraWriter.Module(target, a, b, alpha));
                }
            }
            PeftLoraWriter.write(dir, "random-base", modules, new LinkedHashMap<>());
        }
        return dir;
    }

    private static NDArray gaussian(NDManager manager, SplittableRandom random, long rows, long cols, double std) {
        float[] values = new float[Math.toIntExact(rows * cols)];
        for (int i = 0; i < values.length; i++) {
            // Box-Muller from the seeded generator, so the adapter is byte-identical for a seed.
            double u = 1 - random.nextDouble();
            double v = random.nextDouble();
            values[i] = (float) (std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
        }
        return manager.create(values, new Shape(rows, cols));
    }
}
