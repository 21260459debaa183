package dev.realign.benchmarks;

import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.LoadAdapterRequest;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.SamplingParams;
import dev.realign.checkpoint.DType;
import dev.realign.client.AdapterTar;
import dev.realign.client.ClientOptions;
import dev.realign.client.RealignClient;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.server.RealignServer;
import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.adapters.UploadOptions;
import dev.realign.server.metrics.MonitoringOptions;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import dev.realign.server.tenancy.Tenants;
import io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Uploads a full fine-tune of a ~250 MB f32 model through the Java client to a Netty server on loopback, in
 * one JVM, and prints where the time goes: writing the archive on the client, then the upload call (transfer,
 * SHA-256, spooling to disk, extraction, and the load with its shape and NaN checks). Run it with a heap
 * smaller than the archive ({@code -Xmx128m}) to show that neither side holds it in memory:
 * <pre>java -Xmx128m -cp server/target/test-classes:server/target/classes:$(cat server/target/test-classpath.txt) \
 *     dev.realign.benchmarks.UploadThroughput [WORK_DIR]</pre>
 */
public final class UploadThroughput {
    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory(args.length > 0 ? Path.of(args[0]) : Path.of(System.getProperty("java.io.tmpdir")),
                "upload-bench-");
        // hidden 512, 8 layers, vocabulary 32000: 63M parameters, 250 MB in f32.
        var spec = new SyntheticModelSpec(Architecture.LLAMA3, 512, 8, 8, 2, null, 2048, 32_000, 2048, DType.F32, 1);
        Path base = SyntheticModels.write(spec, work.resolve("base"));
        Path tuned = SyntheticModels.write(spec.withSeed(2), work.resolve("roots/tuned"));
        ModelRegistry models = new ModelRegistry();
        models.add(LoadedModel.load("bench", base, ai.djl.Device.cpu(), ComputeType.AUTO), ServingLimits.DEFAULTS);
        RealignServer server = new RealignServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)),
                models, Tenants.development(new AdapterRoots(List.of(work.resolve("roots")))), MonitoringOptions.LOG_ONLY,
                UploadOptions.DEFAULTS.withDirectory(work.resolve("uploads"))).start();
        try (RealignClient client = RealignClient.connect("127.0.0.1:" + server.port(),
                new ClientOptions(null, Duration.ofMinutes(10)))) {
            long t0 = System.nanoTime();
            AdapterTar.Archive archive = AdapterTar.write(tuned, work.resolve("tuned.tar"));
            double tarSeconds = (System.nanoTime() - t0) / 1e9;
            Files.delete(archive.file());

            long t1 = System.nanoTime();
            AdapterInfo info = client.uploadAdapter("tuned", "", AdapterKind.FULL_DELTA, tuned);
            double uploadSeconds = (System.nanoTime() - t1) / 1e9;

            long t2 = System.nanoTime();
            client.loadAdapter(LoadAdapterRequest.newBuilder().setName("by-path").setPath("tuned").build());
            double loadSeconds = (System.nanoTime() - t2) / 1e9;

            double mb = archive.sizeBytes() / 1e6;
            System.out.printf(Locale.ROOT, "archive %.1f MB; heap limit %d MiB%n", mb, Runtime.getRuntime().maxMemory() >> 20);
            System.out.printf(Locale.ROOT, "client tar + sha256:        %6.2f s  %6.1f MB/s%n", tarSeconds, mb / tarSeconds);
            System.out.printf(Locale.ROOT, "uploadAdapter (whole call): %6.2f s  %6.1f MB/s  (includes the client's tar)%n",
                    uploadSeconds, mb / uploadSeconds);
            System.out.printf(Locale.ROOT, "Load of the same folder:    %6.2f s  (the load alone, for comparison)%n", loadSeconds);
            System.out.printf(Locale.ROOT, "uploaded: %s v%d, %d targets, content %s%n", info.getKind(), info.getVersion(),
                    info.getTargetModulesCount(), info.getContentHash().substring(0, 12));
            var tokens = client.generateText(request("tuned")).tokenIds();
            System.out.println("same greedy tokens as Load: " + tokens.equals(client.generateText(request("by-path")).tokenIds()));
        } finally {
            server.shutdown(Duration.ofSeconds(5));
            try (var all = Files.walk(work)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static GenerateRequest request(String adapter) {
        return GenerateRequest.newBuilder().setPrompt("Hello")
                .setSampling(SamplingParams.newBuilder().setMaxTokens(8).setTemperature(0))
                .setProfile(MergeProfile.newBuilder().setMethod(MergeMethod.TASK_ARITHMETIC)
                        .addAdapters(AdapterWeight.newBuilder().setName(adapter).setWeight(1)))
                .build();
    }
}
