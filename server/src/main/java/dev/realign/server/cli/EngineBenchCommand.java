package dev.realign.server.cli;

import dev.realign.bench.BenchmarkModel;
import dev.realign.bench.DecodeBenchmark;
import dev.realign.bench.MemoryBandwidth;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench-engine}: single-stream decode speed and time to first token, printed beside the memory
 * bandwidth bound (weight bytes read per token over measured read bandwidth).
 */
@Command(name = "bench-engine", mixinStandardHelpOptions = true,
        description = "Measure decode tokens/s and time to first token against the memory-bandwidth bound.")
public final class EngineBenchCommand implements Callable<Integer> {
    @Option(names = "--model", description = "Model folder (default: a random model of the benchmark shape, "
            + "hidden 896, 24 layers, 14/2 heads, intermediate 4864, vocab 32000, written once to .realign/)")
    Path model;

    @Option(names = "--dtypes", split = ",", defaultValue = "f32,f16", description = "Matrix types to measure (default: ${DEFAULT-VALUE})")
    List<String> dtypes;

    @Option(names = "--prompt-tokens", defaultValue = "256")
    int promptTokens;

    @Option(names = "--decode-tokens", defaultValue = "64")
    int decodeTokens;

    @Option(names = "--runs", defaultValue = "3")
    int runs;

    @Option(names = "--bandwidth-mib", defaultValue = "1024", description = "Buffer read to measure bandwidth")
    long bandwidthMiB;

    @Override
    public Integer call() throws Exception {
        Path dir = model != null ? model : BenchmarkModel.ensure();
        MemoryBandwidth.Result bandwidth = MemoryBandwidth.measure(bandwidthMiB << 20, 5);
        System.out.printf(Locale.ROOT, "machine: %d cores, %s %s; java %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"));
        System.out.printf(Locale.ROOT, "read bandwidth: %.1f GB/s (java, %d threads), %.1f GB/s (libtorch sum); bound uses %.1f GB/s%n",
                bandwidth.javaGBps(), bandwidth.threads(), bandwidth.torchGBps(), bandwidth.bestGBps());
        System.out.printf(Locale.ROOT, "%-5s %10s %14s %12s %12s %9s %10s%n", "dtype", "MiB/token",
                "TTFT ms (" + promptTokens + ")", "decode tok/s", "bound tok/s", "of bound", "eff. GB/s");
        for (String dtype : dtypes) {
            try (LoadedModel loaded = LoadedModel.load("bench", dir, ai.djl.Device.cpu(), ComputeType.parse(dtype))) {
                DecodeBenchmark.Result r = DecodeBenchmark.run(loaded, promptTokens, decodeTokens, runs, 7);
                double bound = bandwidth.bestGBps() * 1e9 / r.bytesPerDecodedToken();
                System.out.printf(Locale.ROOT, "%-5s %10.0f %14.0f %12.2f %12.2f %8.0f%% %10.1f%n", dtype,
                        r.bytesPerDecodedToken() / 1048576.0, r.timeToFirstTokenMs(), r.decodeTokensPerSecond(), bound,
                        100 * r.decodeTokensPerSecond() / bound, r.decodeTokensPerSecond() * r.bytesPerDecodedToken() / 1e9);
            }
        }
        return 0;
    }
}
