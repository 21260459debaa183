package dev.realign.benchmarks;

import ai.djl.Device;
import dev.realign.bench.BenchmarkModel;
import dev.realign.bench.DecodeBenchmark;
import dev.realign.generate.DecodeStep;
import dev.realign.generate.SamplingParams;
import dev.realign.generate.Sequence;
import dev.realign.generate.TextStream;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.ProfileMerger;
import dev.realign.merge.methods.MergeMethods;
import dev.realign.merge.methods.MergeParameters;
import dev.realign.model.ComputeType;
import dev.realign.model.KvCache;
import dev.realign.model.LoadedModel;
import dev.realign.model.LoraTerm;
import dev.realign.model.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.IterationParams;

/**
 * Single-stream decode on the benchmark-shape model, base weights against the unmerged LoRA path: the same
 * base plus a rank-16 LoRA on all seven linear projections of every layer, added in the forward at ratio
 * 0.7 ({@code ProfileMerger.unmerged}, what the server serves for LINEAR over LoRA adapters).
 *
 * <p>The two are measured as pairs in one JVM: each operation decodes {@value #DECODE_TOKENS} greedy tokens
 * with the base and {@value #DECODE_TOKENS} with the LoRA view (which goes first alternates), each after a
 * {@value #PROMPT_TOKENS}-token prompt prefilled outside the timing. The machine's read bandwidth swings by
 * 10-30% between JVMs a minute apart, so two separate forks would measure the weather; the median of the
 * per-pair ratios does not. JMH's score is the time of a pair; the per-path rates are printed at the end.
 *
 * <p>The bound is the read bandwidth over the bytes a token must read: every weight once (the embedding
 * table only one row) plus, unmerged, every LoRA factor once (fp32, rank x (in + out) per projection).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
@Warmup(iterations = 2)
@Measurement(iterations = 8)
public class UnmergedDecodeBenchmark {
    static final int PROMPT_TOKENS = 16;
    static final int DECODE_TOKENS = 32;
    static final double RATIO = 0.7;

    @Param({"f16", "f32"})
    public String dtype;

    private Machine machine;
    private LoadedModel model;
    private BenchLora lora;
    private DeltaSource adapter;
    private Weights unmerged;
    private DecodeStep step;
    private int[] prompt;
    private Decoding base;
    private Decoding withLora;
    private int pairs;
    private final IterationTimes baseTimes = new IterationTimes();
    private final IterationTimes loraTimes = new IterationTimes();
    private final List<Double> ratios = new ArrayList<>();

    /** One path's sequence for an iteration, its prompt already run. */
    private record Decoding(Weights weights, KvCache kv, Sequence sequence) implements AutoCloseable {
        @Override
        public void close() {
            sequence.close();
            kv.close();
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.measure();
        model = LoadedModel.load("bench", BenchmarkModel.ensure(), Device.cpu(), ComputeType.parse(dtype));
        lora = new BenchLora(model.weights(), 11);
        adapter = Adapters.load("bench-lora", lora.dir(), model);
        var inputs = new ProfileMerger.Inputs(List.of(adapter), new double[] {RATIO}, new double[] {1});
        double[] coefficients = ProfileMerger.unmergedCoefficients(MergeMethods.LINEAR, MergeParameters.DEFAULTS,
                inputs);
        unmerged = ProfileMerger.unmerged(model.weights(), List.of(adapter), coefficients);
        step = new DecodeStep(model.model());
        prompt = new SplittableRandom(7).ints(PROMPT_TOKENS, 0, model.config().vocabSize()).toArray();
    }

    @Setup(Level.Iteration)
    public void prefill(IterationParams params) {
        baseTimes.begin(params);
        loraTimes.begin(params);
        base = prefilled(model.weights());
        withLora = prefilled(unmerged);
    }

    private Decoding prefilled(Weights weights) {
        KvCache kv = new KvCache(model.config(), PROMPT_TOKENS + DECODE_TOKENS + 1, model.manager());
        Sequence sequence = new Sequence(prompt, kv, SamplingParams.greedy(DECODE_TOKENS + 1), TextStream.NONE,
                Set.of());
        step.run(weights, List.of(sequence), model.manager());
        return new Decoding(weights, kv, sequence);
    }

    @Benchmark
    public int decodePair() {
        boolean baseFirst = pairs++ % 2 == 0;
        long first = decode(baseFirst ? base : withLora);
        long second = decode(baseFirst ? withLora : base);
        long baseNanos = baseFirst ? first : second;
        long loraNanos = baseFirst ? second : first;
        baseTimes.record(baseNanos);
        loraTimes.record(loraNanos);
        if (baseTimes.isMeasuring()) {
            ratios.add((double) baseNanos / loraNanos); // unmerged tok/s over base tok/s
        }
        return base.sequence().generatedTokens() + withLora.sequence().generatedTokens();
    }

    private long decode(Decoding d) {
        long start = System.nanoTime();
        for (int i = 0; i < DECODE_TOKENS; i++) {
            step.run(d.weights(), List.of(d.sequence()), model.manager());
        }
        return System.nanoTime() - start;
    }

    @TearDown(Level.Iteration)
    public void release() {
        base.close();
        withLora.close();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        long weightBytes = DecodeBenchmark.bytesPerDecodedToken(model);
        long loraBytes = loraBytes(unmerged);
        double baseRate = DECODE_TOKENS / baseTimes.medianSeconds();
        double loraRate = DECODE_TOKENS / loraTimes.medianSeconds();
        double baseBound = machine.bestGBps() * 1e9 / weightBytes;
        double loraBound = machine.bestGBps() * 1e9 / (weightBytes + loraBytes);
        System.out.printf(Locale.ROOT, "%n[decode] %s%n"
                        + "[decode] %s base: %.2f tok/s; reads %.0f MiB/token; bound %.2f tok/s -> %.1f%% of bound%n"
                        + "[decode] %s unmerged LoRA: %.2f tok/s; reads %.0f MiB/token (weights + LoRA factors %.1f);"
                        + " bound %.2f tok/s -> %.1f%% of bound%n"
                        + "[decode] %s unmerged / base: %.3f (median of %d pairs; bound ratio %.3f)%n",
                machine.describe(), dtype, baseRate, weightBytes / 1048576.0, baseBound, 100 * baseRate / baseBound,
                dtype, loraRate, (weightBytes + loraBytes) / 1048576.0, loraBytes / 1048576.0, loraBound,
                100 * loraRate / loraBound, dtype, IterationTimes.median(ratios), ratios.size(),
                (double) weightBytes / (weightBytes + loraBytes));
        adapter.close();
        lora.close();
        model.close();
    }
    /** Bytes of the LoRA factors a forward reads: A (r, in) and B (out, r) of every term, fp32. */
    private static long loraBytes(Weights weights) {
        long bytes = 0;
        for (List<LoraTerm> terms : weights.lora().values()) {
            for (LoraTerm t : terms) {
                bytes += t.a().size() * t.a().getDataType().getNumOfBytes()
                        + t.b().size() * t.b().getDataType().getNumOfBytes();
            }
        }
        return bytes;
    }
}
