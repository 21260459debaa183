package dev.realign.bench;

import ai.djl.Device;
import dev.realign.export.GgufDtype;
import dev.realign.export.GgufExporter;
import dev.realign.llamacpp.LlamaCpp;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.matvec.DecodeLinear;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Realign's engine against llama.cpp in one run, single stream, on the benchmark shape
 * ({@link SyntheticModelSpec#benchmarkShape()}: hidden 896, 24 layers, 14/2 heads, intermediate 4864, vocabulary
 * 32000, about 1.7 GB in F32), at F32 and F16: time to first token for a 256-token prompt and decode tokens per
 * second, with the memory-bandwidth bound (weight bytes per token over measured read bandwidth). Realign's decode
 * is measured twice per round: with its Vector API kernel (the default) and with the kernel off (libtorch's
 * products), so the kernel's gain is read from one run.
 *
 * <p>Both engines get the same prompt (random ids from the same seed as {@link DecodeBenchmark}), greedy
 * decoding, the same thread count (the machine's cores), loaded side by side and measured in alternating
 * rounds. llama.cpp keeps its defaults otherwise (an F16 KV cache; ours is F32, a few MB per token at these
 * lengths against 0.8-1.5 GB of weights). llama.cpp's decode rate is (n - 1) tokens over the time of an
 * n-token request minus that of a 1-token request; every figure is the median of {@link #RUNS} rounds.
 *
 * <p>Excluded from the default build (tag {@code benchmark}); it takes a few minutes and wants a quiet machine:
 * <pre>./mvnw -pl models test -Pbenchmark -Dtest=LlamaCppBenchmark</pre>
 * The model and its GGUF files are written once to {@code models/target/llamacpp-benchmark/} (about 4.3 GB).
 * The table is printed and written to {@code models/target/llamacpp-benchmark/results.md}.
 */
@Tag("benchmark")
class LlamaCppBenchmark {
    static final int PROMPT = 256;
    static final int DECODE = 64;
    static final int RUNS = 5;
    static final long SEED = 7;

    /** ourRate: with the decode kernel (the default); torchRate: the same model with the kernel off. */
    record Row(String dtype, long bytesPerToken, double ourTtftMs, double ourRate, double torchRate, double theirTtftMs,
               double theirRate) {}

    @Test
    void realignAgainstLlamaCpp() throws Exception {
        Path dir = Path.of(System.getProperty("realign.benchmark.dir", "target/llamacpp-benchmark")).toAbsolutePath();
        Path model = dir.resolve("model");
        SyntheticModelSpec spec = SyntheticModelSpec.benchmarkShape();
        if (!Files.isRegularFile(model.resolve("model.safetensors"))) {
            System.out.println("writing the benchmark-shape model to " + model + " (once)");
            SyntheticModels.write(spec, model);
        }
        int threads = Runtime.getRuntime().availableProcessors();
        String loadBefore = loadAverage();
        MemoryBandwidth.Result bandwidth = MemoryBandwidth.measure(1L << 30, 5);
        List<Row> rows = new ArrayList<>();
        for (GgufDtype dtype : GgufDtype.values()) {
            Path gguf = dir.resolve("model-" + dtype.name().toLowerCase(Locale.ROOT) + ".gguf");
            if (!Files.isRegularFile(gguf)) {
                System.out.println("exporting " + gguf + " (once)");
                GgufExporter.exportModel(model, gguf, dtype);
            }
            rows.add(measure(dtype, model, gguf, spec.vocabSize(), threads));
        }
        String table = table(rows, bandwidth, threads)
                + "\nLoad average (1, 5, 15 min) before: " + loadBefore + "; after: " + loadAverage()
                + " (other processes on the machine skew both engines; compare in a quiet run).\n";
        System.out.println(table);
        Files.writeString(dir.resolve("results.md"), table);
    }

    /**
     * Both engines loaded side by side and measured in alternating rounds (ours, then llama.cpp's), so that
     * load from other processes during the run hits both alike; each figure is the median over the rounds.
     */
    private static Row measure(GgufDtype dtype, Path model, Path gguf, int vocab, int threads) {
        int[] prompt = new SplittableRandom(SEED).ints(PROMPT, 0, vocab).toArray();
        double[] ourTtft = new double[RUNS];
        double[] ourRate = new double[RUNS];
        double[] torchRate = new double[RUNS];
        double[] theirTtft = new double[RUNS];
        double[] theirRate = new double[RUNS];
        long bytesPerToken;
        try (LoadedModel ours = LoadedModel.load("bench", model, Device.cpu(), ComputeType.parse(dtype.name()));
             LlamaCpp theirs = LlamaCpp.load(gguf, PROMPT + DECODE + 16, threads, false)) {
            bytesPerToken = DecodeBenchmark.bytesPerDecodedToken(ours);
            theirs.generateIgnoringEnd(Arrays.copyOf(prompt, 16), 4); // warm up
            for (int r = 0; r < RUNS; r++) {
                DecodeBenchmark.Result result = DecodeBenchmark.run(ours, PROMPT, DECODE, 1, SEED); // warms up itself
                ourTtft[r] = result.timeToFirstTokenMs();
                ourRate[r] = result.decodeTokensPerSecond();
                DecodeLinear.setEnabled(false);
                try {
                    torchRate[r] = DecodeBenchmark.run(ours, PROMPT, DECODE, 1, SEED).decodeTokensPerSecond();
                } finally {
                    DecodeLinear.setEnabled(true);
                }
                long start = System.nanoTime();
                theirs.generateIgnoringEnd(prompt, 1);
                long first = System.nanoTime();
                theirs.generateIgnoringEnd(prompt, DECODE + 1);
                long end = System.nanoTime();
                double prefillNs = first - start;
                theirTtft[r] = prefillNs / 1e6;
                theirRate[r] = DECODE / ((end - first - prefillNs) / 1e9);
                System.out.printf(Locale.ROOT, "%s round %d: Realign %.2f tok/s (libtorch products %.2f), TTFT %.0f ms;"
                        + " llama.cpp %.2f tok/s, TTFT %.0f ms%n", dtype, r, ourRate[r], torchRate[r], ourTtft[r],
                        theirRate[r], theirTtft[r]);
            }
        }
        return new Row(dtype.name(), bytesPerToken, median(ourTtft), median(ourRate), median(torchRate), median(theirTtft),
                median(theirRate));
    }

    private static String table(List<Row> rows, MemoryBandwidth.Result bandwidth, int threads) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "Benchmark shape: hidden 896, 24 layers, 14/2 heads, intermediate 4864, vocab"
                + " 32000; %d-token prompt, %d decoded tokens, greedy, single stream, %d threads, median of %d.%n",
                PROMPT, DECODE, threads, RUNS));
        s.append(String.format(Locale.ROOT, "Read bandwidth: %.1f GB/s (java), %.1f GB/s (libtorch); the bound uses %.1f GB/s.%n%n",
                bandwidth.javaGBps(), bandwidth.torchGBps(), bandwidth.bestGBps()));
        s.append("| dtype | MiB/token | bound tok/s | Realign tok/s | Realign, libtorch products | llama.cpp tok/s"
                + " | decode ratio | Realign TTFT ms | llama.cpp TTFT ms | TTFT ratio |\n");
        s.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            double bound = bandwidth.bestGBps() * 1e9 / r.bytesPerToken();
            s.append(String.format(Locale.ROOT, "| %s | %.0f | %.1f | %.1f | %.1f | %.1f | %.2f | %.0f | %.0f | %.2f |%n",
                    r.dtype(), r.bytesPerToken() / 1048576.0, bound, r.ourRate(), r.torchRate(), r.theirRate(),
                    r.ourRate() / r.theirRate(), r.ourTtftMs(), r.theirTtftMs(), r.ourTtftMs() / r.theirTtftMs()));
        }
        s.append("\nRealign, libtorch products: the same model with the decode kernel off (DecodeLinear.setEnabled(false)),"
                + " measured in the same rounds.\n");
        s.append("decode ratio = Realign / llama.cpp tokens per second (higher is better for Realign);"
                + " TTFT ratio = Realign / llama.cpp time (lower is better for Realign).\n");
        return s.toString();
    }

    /** The system's load averages, so a table measured on a busy machine says so. */
    private static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return parts[0] + ", " + parts[1] + ", " + parts[2];
        } catch (Exception e) {
            return "unknown";
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
