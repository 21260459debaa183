package dev.realign.benchmarks;

import ai.djl.Device;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.MergeProfile;
import dev.realign.bench.BenchmarkModel;
import dev.realign.generate.DecodeStep;
import dev.realign.generate.SamplingParams;
import dev.realign.generate.Sequence;
import dev.realign.generate.TextStream;
import dev.realign.merge.MergedProfile;
import dev.realign.merge.ProfileKey;
import dev.realign.model.ComputeType;
import dev.realign.model.KvCache;
import dev.realign.model.LoadedModel;
import dev.realign.model.ModelConfig;
import dev.realign.server.adapters.AdapterRegistry;
import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.cache.ProfileCache;
import dev.realign.server.cache.ProfileLease;
import dev.realign.server.profiles.Profiles;
import dev.realign.server.tenancy.Tenant;
import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * Time to first token of a TIES profile (one rank-16 LoRA on every linear layer, weight 0.7, density 0.5)
 * on the benchmark-shape model held in F16, through the server's own path: {@link Profiles} resolves the
 * API's {@link MergeProfile} to a key and builds it, {@link ProfileCache} caches it, and one engine step runs
 * the 64-token prompt and samples the first token from the leased weights.
 * <ul>
 *   <li>{@code cold}: a fresh cache each iteration, so the request waits for the merge of all 168 touched
 *       tensors (delta = scale * B @ A, TIES in fp32, stored back as F16), then prefills;</li>
 *   <li>{@code cached}: the profile is resident, the lease is a cache hit and only the prefill remains.</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class ProfileFirstTokenBenchmark {
    static final int PROMPT_TOKENS = 64;
    static final String ADAPTER = "bench-lora";

    @Param({"cold", "cached"})
    public String profile;

    private Machine machine;
    private double gemmGflops;
    private LoadedModel model;
    private BenchLora lora;
    private AdapterRegistry adapters;
    private Profiles profiles;
    private ProfileKey key;
    private ProfileCache cache;
    private DecodeStep step;
    private int[] prompt;
    private MergedProfile lastBuilt;
    private final IterationTimes times = new IterationTimes();
    private final List<Double> mergeSeconds = new ArrayList<>();

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.measure();
        model = LoadedModel.load("bench", BenchmarkModel.ensure(), Device.cpu(), ComputeType.F16);
        ModelConfig config = model.config();
        // The prefill's largest products: 64 rows against the (4864, 896) MLP matrices.
        gemmGflops = Machine.gemmGflops(PROMPT_TOKENS, config.hiddenSize(), config.intermediateSize());
        lora = new BenchLora(model.weights(), 11);
        adapters = new AdapterRegistry(model);
        adapters.load(ADAPTER, lora.dir());
        profiles = new Profiles(model, adapters);
        key = profiles.resolve(MergeProfile.newBuilder()
                .setMethod(dev.realign.api.v1.MergeMethod.TIES)
                .addAdapters(AdapterWeight.newBuilder().setName(ADAPTER).setWeight(0.7))
                .setDensity(0.5)
                .build(), Tenant.development(AdapterRoots.none()));
        step = new DecodeStep(model.model());
        prompt = new SplittableRandom(7).ints(PROMPT_TOKENS, 0, config.vocabSize()).toArray();
        cache = newCache();
        if (profile.equals("cached")) {
            cache.acquire(key).join().close(); // built once here; every measured request is a hit
        }
    }

    private ProfileCache newCache() {
        MergedProfile base = MergedProfile.unmerged(ProfileKey.base(model.id()), model.weights());
        return new ProfileCache(base, profiles::build, 8192, 1, 4);
    }

    @Setup(Level.Iteration)
    public void iteration(IterationParams params) {
        times.begin(params);
    }

    @Benchmark
    public int firstToken() {
        long start = System.nanoTime();
        try (ProfileLease lease = cache.acquire(key).join();
             KvCache kv = new KvCache(model.config(), PROMPT_TOKENS + 1, model.manager());
             Sequence sequence = new Sequence(prompt, kv, SamplingParams.greedy(1), TextStream.NONE, Set.of())) {
            int token = step.run(lease.profile().weights(), List.of(sequence), model.manager()).getFirst().tokenId();
            times.record(System.nanoTime() - start);
            lastBuilt = lease.profile();
            if (profile.equals("cold") && times.isMeasuring()) {
                mergeSeconds.add(lastBuilt.mergeTime().toNanos() / 1e9);
            }
            return token;
        }
    }

    /**
     * Cold: drop the cache and wait until the profile's tensors are freed (Caffeine releases evicted entries
     * on another thread), so the next request merges from scratch without a free running beside it.
     */
    @TearDown(Level.Iteration)
    public void dropCache() throws InterruptedException {
        if (!profile.equals("cold")) {
            return;
        }
        cache.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (lastBuilt != null && lastBuilt.manager().isOpen() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        cache = newCache();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        double ttft = times.medianSeconds();
        // Every prompt row goes through the layers; only the last row through the output head.
        double prefillFlops = 2.0 * (PROMPT_TOKENS * projectionParameters() + model.weights().lmHead().size());
        double prefillBound = prefillFlops / (gemmGflops * 1e9);
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                "%n[ttft] %s; fp32 GEMM %.0f GFLOP/s%n[ttft] %s TIES profile, %d-token prompt: median time to first"
                        + " token %.0f ms; prefill bound %.0f ms (%.1f GFLOP at the GEMM rate)",
                machine.describe(), gemmGflops, profile, PROMPT_TOKENS, ttft * 1e3, prefillBound * 1e3,
                prefillFlops / 1e9));
        if (profile.equals("cold")) {
            double merge = IterationTimes.median(mergeSeconds);
            // At least: each touched F16 tensor read and its result written once, and B @ A computed once
            // (2 * rank flops per element). The bound is whichever of the two takes longer.
            double bytes = mergeBytes();
            double flops = 2.0 * BenchLora.RANK * projectionParameters();
            double memoryBound = bytes / (machine.bestGBps() * 1e9);
            double computeBound = flops / (gemmGflops * 1e9);
            double bound = Math.max(memoryBound, computeBound);
            line.append(String.format(Locale.ROOT, "%n[ttft] of which merge %.0f ms for %d tensors; bound %.0f ms"
                            + " (%.2f GB moved: %.0f ms at %.1f GB/s; B @ A %.1f GFLOP: %.0f ms), merge at %.1f%% of"
                            + " it; rest (prefill + first sample) %.0f ms", merge * 1e3, projections().count(),
                    bound * 1e3, bytes / 1e9, memoryBound * 1e3, machine.bestGBps(), flops / 1e9,
                    computeBound * 1e3, 100 * bound / merge, (ttft - merge) * 1e3));
        }
        System.out.println(line);
        cache.close();
        adapters.close();
        model.close();
        lora.close();
    }

    /** The layer projections: the tensors the adapter touches and the prefill multiplies by. */
    private Stream<NDArray> projections() {
        return model.weights().tensors().entrySet().stream()
                .filter(e -> e.getKey().endsWith("_proj.weight"))
                .map(Map.Entry::getValue);
    }

    private long projectionParameters() {
        return projections().mapToLong(t -> t.size()).sum();
    }

    /** The fewest bytes a merge moves: every touched tensor read once from the base and written once. */
    private double mergeBytes() {
        return 2.0 * projections().mapToLong(t -> t.size() * t.getDataType().getNumOfBytes()).sum();
    }
}
