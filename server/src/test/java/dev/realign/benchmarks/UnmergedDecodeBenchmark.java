package dev.realign.benchmarks;

import ai.djl.Device;
import dev.realign.bench.BenchmarkModel;
import dev.realign.bench.DecodeBenchmark;
import dev.realign.generate.DecodeStep;
import dev.realign.generate.TextStream;
import dev.realign.generate.SamplingParams;
import dev.realign.generate.Sequence;
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
 * 0.7 ({@code ProfileMerger.unmerged}, what the server serves for LINEAR over LoRA adapters). One operation
 * is {@value #DECODE_TOKENS} greedy tokens after a {@value #PROMPT_TOKENS}-token prompt that each iteration
 * prefills outside the timing.
 *
 * <p>The bound is the read bandwidth over the bytes a token must read: every weight once (the embedding
 * table only one row) plus, unmerged, every LoRA factor once (fp32, rank x (in + out) per projection).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class UnmergedDecodeBenchmark {
    static final int PROMPT_TOKENS = 16;
    static final int DECODE_TOKENS = 32;
    static final double RATIO = 0.7;

    @Param({"f16", "f32"})
    public String dtype;

    @Param({"base", "unmerged"})
    public String weights;

    private Machine machine;
    private LoadedModel model;
    private BenchLora lora;
    private DeltaSource adapter;
    private Weights view;
    private DecodeStep step;
    private int[] prompt;
    private KvCache kv;
    private Sequence sequence;
    private final IterationTimes times = new IterationTimes();

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.measure();
        model = LoadedModel.load("bench", BenchmarkModel.ensure(), Device.cpu(), ComputeType.parse(dtype));
        view = model.weights();
        if (weights.equals("unmerged")) {
            lora = new BenchLora(model.weights(), 11);
            adapter = Adapters.load("bench-lora", lora.dir(), model);
            var inputs = new ProfileMerger.Inputs(List.of(adapter), new double[] {RATIO}, new double[] {1});
            double[] coefficients = ProfileMerger.unmergedCoefficients(MergeMethods.LINEAR, MergeParameters.DEFAULTS,
                    inputs);
            view = ProfileMerger.unmerged(model.weights(), List.of(adapter), coefficients);
        }
        step = new DecodeStep(model.model());
        prompt = new SplittableRandom(7).ints(PROMPT_TOKENS, 0, model.config().vocabSize()).toArray();
    }

    /** A new sequence with its prompt already run, so the operation is decode steps only. */
    @Setup(Level.Iteration)
    public void prefill(IterationParams params) {
        times.begin(params);
        kv = new KvCache(model.config(), PROMPT_TOKENS + DECODE_TOKENS + 1, model.manager());
        sequence = new Sequence(prompt, kv, SamplingParams.greedy(DECODE_TOKENS + 1), TextStream.NONE, Set.of());
        step.run(view, List.of(sequence), model.manager());
    }

    @Benchmark
    public int decode() {
        long start = System.nanoTime();
        int token = -1;
        for (int i = 0; i < DECODE_TOKENS; i++) {
            token = step.run(view, List.of(sequence), model.manager()).getFirst().tokenId();
        }
        times.record(System.nanoTime() - start);
        return token;
    }

    @TearDown(Level.Iteration)
    public void release() {
        sequence.close();
        kv.close();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        double tokensPerSecond = DECODE_TOKENS / times.medianSeconds();
        long weightBytes = DecodeBenchmark.bytesPerDecodedToken(model);
        long loraBytes = loraBytes(view);
        double bound = machine.bestGBps() * 1e9 / (weightBytes + loraBytes);
        System.out.printf(Locale.ROOT, "%n[decode] %s%n[decode] %s %s: %.2f tok/s; reads %.0f MiB/token (weights %.0f"
                        + " + LoRA factors %.1f); bound %.2f tok/s -> %.1f%% of bound%n", machine.describe(),
                dtype, weights, tokensPerSecond, (weightBytes + loraBytes) / 1048576.0, weightBytes / 1048576.0,
                loraBytes / 1048576.0, bound, 100 * tokensPerSecond / bound);
        if (adapter != null) {
            adapter.close();
            lora.close();
        }
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
