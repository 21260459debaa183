package dev.realign.bench;

import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The random model every speed measurement runs on ({@link SyntheticModelSpec#benchmarkShape()}, F32 on
 * disk), written once to {@code .realign/bench-model} under {@code realign.home} (the launcher sets it to
 * the checkout) so that {@code bench-engine} and the JMH benchmarks share one 1.7 GB folder.
 */
public final class BenchmarkModel {
    private BenchmarkModel() {}

    public static Path folder() {
        return Path.of(System.getProperty("realign.home", ".")).resolve(".realign/bench-model");
    }

    /** The folder, after writing the model there if it is not there yet. */
    public static Path ensure() {
        Path dir = folder();
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            System.out.println("writing the benchmark-shape random model to " + dir + " (once)");
            SyntheticModels.write(SyntheticModelSpec.benchmarkShape(), dir);
        }
        return dir;
    }
}
