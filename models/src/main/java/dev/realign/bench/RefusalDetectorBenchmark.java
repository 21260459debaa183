package dev.realign.bench;

import dev.realign.safety.KeywordDetector;
import dev.realign.safety.MiniLmEncoder;
import dev.realign.safety.RefusalDetector;
import dev.realign.safety.RefusalFeatures;
import dev.realign.safety.RefusalTrainingTexts;
import dev.realign.safety.SemanticDetector;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code ./realign bench-refusal}: responses per second of the semantic refusal detector, beside its compute
 * bound. The encoder is int8-quantized (ONNX Runtime's MatMulInteger), so the bound is the CPU's peak
 * int8 multiply-add rate over the operations one response costs: {@code cores x clock x int8 ops per cycle}
 * with 128 ops/cycle/core for AVX-512 VNNI on two 256-bit pipes (AMD Zen 4: vpdpbusd, 32 multiply-adds per
 * pipe per cycle). Memory is not the bound: the 22 MB model stays in the 32 MiB L3 and activations are small.
 *
 * <p>Two workloads from {@link RefusalTrainingTexts}: "short", the generated responses as they are (one to
 * three sentences), and "long", four of them joined, so that every response fills the encoder's
 * {@link SemanticDetector#MAX_TOKENS} tokens as a real LLM answer would. Each: warm-up, then the median of
 * several timed passes of {@code classifyAll} over 256 responses. It also prints the CPU cores the process
 * got while measuring: on a shared machine that, not the clock, says how far the number is from the machine's.
 */
public final class RefusalDetectorBenchmark {
    /** int8 operations per cycle per core with AVX-512 VNNI on 2 x 256-bit pipes (Zen 4). */
    static final double INT8_OPS_PER_CYCLE = 128;

    private RefusalDetectorBenchmark() {}

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int cores = Runtime.getRuntime().availableProcessors();
        double ghz = clockGHz();
        double peak = cores * ghz * 1e9 * INT8_OPS_PER_CYCLE;
        System.out.printf(Locale.ROOT, "machine: %d cores x %.2f GHz (cpuinfo) x %.0f int8 ops/cycle = %.0f Gop/s int8 peak"
                        + "; %s%n", cores, ghz, INT8_OPS_PER_CYCLE, peak / 1e9,
                hasVnni() ? "avx512_vnni present" : "NO avx512_vnni: the int8 peak is overstated");
        List<String> shortTexts = RefusalTrainingTexts.generate(99, 128).stream().map(RefusalTrainingTexts.Example::text).toList();
        List<String> longTexts = new ArrayList<>();
        for (int i = 0; i < shortTexts.size(); i++) {
            longTexts.add(String.join(" ", shortTexts.get(i), shortTexts.get((i + 1) % 256),
                    shortTexts.get((i + 2) % 256), shortTexts.get((i + 3) % 256)));
        }
        KeywordDetector keyword = new KeywordDetector();
        try (SemanticDetector semantic = SemanticDetector.loadBundled();
             MiniLmEncoder counter = MiniLmEncoder.loadBundled(SemanticDetector.MAX_TOKENS)) {
            for (var workload : List.of(new Workload("short", shortTexts), new Workload("long", longTexts))) {
                double ops = 0;
                double tokens = 0;
                for (String text : workload.texts()) {
                    int whole = counter.tokensRead(text);
                    String opening = RefusalFeatures.opening(text);
                    int open = opening.equals(text.strip()) ? 0 : counter.tokensRead(opening);
                    tokens += whole + open;
                    ops += MiniLmEncoder.operations(whole) + (open == 0 ? 0 : MiniLmEncoder.operations(open));
                }
                ops /= workload.texts().size();
                tokens /= workload.texts().size();
                Rate rate = rate(semantic, workload.texts(), runs);
                double bound = peak / ops;
                // On a shared machine the process gets part of the cores: the rate per core-second it got,
                // times the cores, is what it would do alone (if it scales; ONNX Runtime uses every core).
                System.out.printf(Locale.ROOT, "semantic, %-5s responses (%.1f tokens encoded each, %.2f Gop): %7.1f responses/s"
                                + " using %.2f of %d cores (%.0f per core-second); int8 compute bound %.0f responses/s"
                                + " on %d cores, %.0f per core-second: %.0f%% of it%n",
                        workload.name(), tokens, ops / 1e9, rate.perSecond(), rate.coresUsed(), cores,
                        rate.perSecond() / rate.coresUsed(), bound, cores, bound / cores,
                        100 * (rate.perSecond() / rate.coresUsed()) / (bound / cores));
                System.out.printf(Locale.ROOT, "keyword,  %-5s responses: %.0f responses/s (no model; for scale)%n",
                        workload.name(), rate(keyword, workload.texts(), runs).perSecond());
            }
        }
    }

    private record Workload(String name, List<String> texts) {}

    /** Median responses/s over wall time; also the CPU cores this process got while measuring. */
    private record Rate(double perSecond, double coresUsed) {}

    private static Rate rate(RefusalDetector detector, List<String> texts, int runs) {
        detector.classifyAll(texts); // warm-up: JIT, ONNX Runtime's first-run allocations
        double[] rates = new double[runs];
        long wall = 0;
        long cpu = 0;
        for (int r = 0; r < runs; r++) {
            long cpuStart = processCpuNanos();
            long start = System.nanoTime();
            detector.classifyAll(texts);
            long elapsed = System.nanoTime() - start;
            cpu += processCpuNanos() - cpuStart;
            wall += elapsed;
            rates[r] = texts.size() / (elapsed / 1e9);
        }
        Arrays.sort(rates);
        return new Rate(rates[runs / 2], cpu / (double) wall);
    }

    /** CPU time of the whole process, ONNX Runtime's native threads included. */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static double clockGHz() throws IOException {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        if (Files.isReadable(cpuinfo)) {
            for (String line : Files.readAllLines(cpuinfo)) {
                if (line.startsWith("cpu MHz")) {
                    return Double.parseDouble(line.substring(line.indexOf(':') + 1).strip()) / 1000;
                }
            }
        }
        throw new IllegalStateException("cannot read the CPU clock from /proc/cpuinfo");
    }

    private static boolean hasVnni() throws IOException {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        return Files.isReadable(cpuinfo) && Files.readString(cpuinfo).contains("avx512_vnni");
    }
}
