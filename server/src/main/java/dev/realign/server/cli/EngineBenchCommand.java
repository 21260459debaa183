package dev.realign.server.cli;

import dev.realign.bench.BenchmarkModel;
import dev.realign.bench.DecodeBenchmark;
import dev.realign.bench.MemoryBandwidth;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.matvec.DecodeLinear;
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

    @Option(names = "--products", split = ",", defaultValue = "kernel",
            description = "Decode matrix products to measure, each in turn on the same loaded model: kernel (the "
                    + "engine's default, the Vector API kernel for up to ${sys:realign.kernel.maxRows:-8} rows), "
                    + "libtorch (the kernel switched off) (default: ${DEFAULT-VALUE})")
    List<String> products;

    @Override
    public Integer call() throws Exception {
        Path dir = model != null ? model : BenchmarkModel.ensure();
        MemoryBandwidth.Result bandwidth = MemoryBandwidth.measure(bandwidthMiB << 20, 5);
        System.out.printf(Locale.ROOT, "machine: %d cores, %s %s; java %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"));
        System.out.printf(Locale.ROOT, "read bandwidth: %.1f GB/s (java, %d threads), %.1f GB/s (libtorch sum); bound uses %.1f GB/s%n",
                bandwidth.javaGBps(), bandwidth.threads(), bandwidth.torchGBps(), bandwidth.bestGBps());
        System.out.printf(Locale.ROOT, "load average %s%n", loadAverage());
        System.out.printf(Locale.ROOT, "%-12s %10s %14s %12s %12s %9s %10s%n", "dtype", "MiB/token",
                "TTFT ms (" + promptTokens + ")", "decode tok/s", "bound tok/s", "of bound", "eff. GB/s");
        for (String dtype : dtypes) {
            try (LoadedModel loaded = LoadedModel.load("bench", dir, ai.djl.Device.cpu(), ComputeType.parse(dtype))) {
                for (String product : products) {
                    boolean before = DecodeLinear.setEnabled(switch (product) {
                        case "kernel" -> true;
                        case "libtorch" -> false;
                        default -> throw new IllegalArgumentException("--products takes kernel or libtorch, not " + product);
                    });
                    try {
                        long kernelBefore = DecodeLinear.kernelNanos();
                        DecodeBenchmark.Result r = DecodeBenchmark.run(loaded, promptTokens, decodeTokens, runs, 7);
                        // Decoded tokens of the run: its warm-up's 4 and each run's; the kernel is also used for
                        // the one-row head after each prefill, so this slightly overstates the per-token time.
                        double kernelMsPerToken = (DecodeLinear.kernelNanos() - kernelBefore) / 1e6 / (4 + runs * decodeTokens);
                        double bound = bandwidth.bestGBps() * 1e9 / r.bytesPerDecodedToken();
                        String label = products.size() == 1 ? dtype : dtype + " " + product;
                        System.out.printf(Locale.ROOT, "%-12s %10.0f %14.0f %12.2f %12.2f %8.0f%% %10.1f%n", label,
                                r.bytesPerDecodedToken() / 1048576.0, r.timeToFirstTokenMs(), r.decodeTokensPerSecond(), bound,
                                100 * r.decodeTokensPerSecond() / bound, r.decodeTokensPerSecond() * r.bytesPerDecodedToken() / 1e9);
                        if (kernelMsPerToken > 0) {
                            System.out.printf(Locale.ROOT, "%12s kernel products %.1f ms of %.1f ms per decoded token (%.1f GB/s"
                                    + " inside them); the rest is libtorch's other ops and the copies around the kernel%n", "",
                                    kernelMsPerToken, 1000 / r.decodeTokensPerSecond(),
                                    r.bytesPerDecodedToken() / (kernelMsPerToken / 1000) / 1e9);
                        }
                    } finally {
                        DecodeLinear.setEnabled(before);
                    }
                }
            }
        }
        return 0;
    }

    /** The 1, 5 and 15 minute load averages: the machine is shared, and they say how much. */
    private static String loadAverage() {
        try {
            String[] f = java.nio.file.Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
