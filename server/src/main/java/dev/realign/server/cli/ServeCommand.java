package dev.realign.server.cli;

import ch.qos.logback.classic.LoggerContext;
import dev.realign.model.LoadedModel;
import dev.realign.safety.prompts.PromptSetException;
import dev.realign.safety.prompts.PromptSets;
import dev.realign.server.RealignServer;
import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.adapters.UploadOptions;
import dev.realign.server.jobs.JobOptions;
import dev.realign.server.metrics.MonitoringOptions;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import dev.realign.server.safety.BuiltinPromptSet;
import dev.realign.server.safety.SafetyOptions;
import dev.realign.server.tenancy.Tenants;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code serve}: loads the base model and serves realign.v1 over gRPC on Netty until stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Serve a model over gRPC.")
public final class ServeCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Option(names = "--model", description = "Hugging Face model folder (default: the demo model)")
    Path model;

    @Option(names = "--model-id", description = "Name clients use for the model (default: the folder name)")
    String modelId;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "50051", description = "gRPC port; 0 picks a free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--max-batch", defaultValue = "8", description = "Sequences stepped together (default: ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--queue", defaultValue = "64",
            description = "Requests waiting per model before RESOURCE_EXHAUSTED (default: ${DEFAULT-VALUE})")
    int queue;

    @Option(names = "--profile-cache-mib", defaultValue = "4096",
            description = "Memory for merged profiles kept resident, MiB (default: ${DEFAULT-VALUE})")
    long profileCacheMiB;

    @Option(names = "--merge-threads", defaultValue = "1", description = "Merges running at once (default: ${DEFAULT-VALUE})")
    int mergeThreads;

    @Option(names = "--merge-queue", defaultValue = "16",
            description = "Merges waiting before RESOURCE_EXHAUSTED (default: ${DEFAULT-VALUE})")
    int mergeQueue;

    @Option(names = "--adapter", paramLabel = "NAME=DIR",
            description = "Load an adapter folder (PEFT LoRA or a full fine-tune) at start; repeatable")
    Map<String, Path> adapters = new LinkedHashMap<>();

    @Option(names = "--adapter-root", paramLabel = "DIR",
            description = "Folder clients may load adapters from through Adapters.Load; repeatable")
    List<Path> adapterRoots = new ArrayList<>();

    @Option(names = "--max-upload-mib", defaultValue = "" + UploadOptions.DEFAULT_MAX_MIB,
            description = "Largest adapter archive Adapters.Upload accepts, MiB (default: ${DEFAULT-VALUE})")
    long maxUploadMiB;

    @Option(names = "--max-uploads", defaultValue = "" + UploadOptions.DEFAULT_MAX_CONCURRENT,
            description = "Adapters.Upload calls in progress at once (default: ${DEFAULT-VALUE})")
    int maxUploads;

    @Option(names = "--upload-dir", paramLabel = "DIR",
            description = "Where uploads are spooled and uploaded adapters kept while loaded "
                    + "(default: a new folder in the system's temp folder, removed at exit)")
    Path uploadDir;

    @Option(names = "--job-threads", defaultValue = "" + JobOptions.DEFAULT_THREADS,
            description = "Realignment jobs (Jobs.Run) that run at once, beside serving; " + JobOptions.DEFAULT_QUEUE
                    + " more may wait, beyond that Run is RESOURCE_EXHAUSTED (default: ${DEFAULT-VALUE})")
    int jobThreads;

    @Option(names = "--job-dir", paramLabel = "DIR",
            description = "Where realignment results are kept while their adapter is loaded "
                    + "(default: a new folder in the system's temp folder, removed at exit)")
    Path jobDir;

    @Option(names = "--prompt-set", paramLabel = "NAME=FILE",
            description = "A prompt set sweeps may name as builtin (AdvBench, HarmBench or XSTest CSV, or JSONL); "
                    + "repeatable. The demo family's held-out sets are offered as demo-harmful, demo-benign and "
                    + "demo-task when models/demo is present")
    Map<String, Path> promptSets = new LinkedHashMap<>();

    @Option(names = "--config", paramLabel = "FILE",
            description = "Tenants YAML (keys, adapter roots, presets, policy); reloaded when it changes. "
                    + "Without it: development mode, one open tenant")
    Path config;

    @Option(names = "--config-poll", defaultValue = "2",
            description = "Seconds between checks of --config for changes (default: ${DEFAULT-VALUE})")
    int configPollSeconds;

    @Option(names = "--grace", defaultValue = "30", description = "Seconds running streams get to finish at shutdown")
    int graceSeconds;

    @Option(names = "--metrics-port", defaultValue = "" + MonitoringOptions.DEFAULT_METRICS_PORT,
            description = "Port of /metrics (Prometheus) and /healthz on --host; 0 picks a free one, -1 turns them off"
                    + " (default: ${DEFAULT-VALUE})")
    int metricsPort;

    @Option(names = "--log-prompts", description = "Include prompt text in the JSON request log (off: prompts are user data)")
    boolean logPrompts;

    @Option(names = "--port-file", description = "Write the bound port to this file once serving (for scripts with --port 0)")
    Path portFile;

    @Mixin
    EngineOptions engine;

    @Mixin
    DetectorOptions detectors;

    private Tenants tenants() throws IOException {
        if (config == null) {
            return Tenants.development(new AdapterRoots(adapterRoots));
        }
        if (!adapterRoots.isEmpty()) {
            throw new IllegalArgumentException("--adapter-root is for development mode; with --config each tenant's "
                    + "adapter_roots apply");
        }
        try {
            return Tenants.load(config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--config " + config + ": " + e.getMessage(), e);
        }
    }

    /** The operator's sets and the demo family's; the operator's win a name they share. */
    private List<BuiltinPromptSet> builtinPromptSets() {
        List<BuiltinPromptSet> sets = new ArrayList<>();
        for (var set : promptSets.entrySet()) {
            try {
                PromptSets.load(set.getValue()); // a broken file fails at start, not in a user's sweep
            } catch (PromptSetException e) {
                throw new IllegalArgumentException("--prompt-set " + set.getKey() + ": " + e.getMessage(), e);
            }
            sets.add(new BuiltinPromptSet(set.getKey(), set.getValue(), null));
        }
        DefaultModel.demoPromptSets().stream().filter(s -> !promptSets.containsKey(s.name())).forEach(sets::add);
        return sets;
    }

    private UploadOptions uploadOptions() {
        if (maxUploadMiB < 1 || maxUploadMiB > Long.MAX_VALUE >> 20) {
            throw new IllegalArgumentException("--max-upload-mib must be >= 1, got " + maxUploadMiB);
        }
        if (maxUploads < 1) {
            throw new IllegalArgumentException("--max-uploads must be >= 1, got " + maxUploads);
        }
        return UploadOptions.DEFAULTS.withMaxBytes(maxUploadMiB << 20).withMaxConcurrent(maxUploads)
                .withDirectory(uploadDir);
    }

    @Override
    public Integer call() throws Exception {
        engine.configureThreads(); // first: the engine starts with the first tensor anything makes
        UploadOptions uploads = uploadOptions(); // option errors before the model takes its time to load
        JobOptions jobs = JobOptions.DEFAULTS.withThreads(jobThreads).withDirectory(jobDir);
        SafetyOptions safety = SafetyOptions.of(detectors.load(), builtinPromptSets());
        Tenants tenants = tenants();
        Path dir = model != null ? model : DefaultModel.locate();
        String id = modelId != null ? modelId : dir.toAbsolutePath().normalize().getFileName().toString();
        ModelRegistry models = new ModelRegistry();
        long start = System.nanoTime();
        LoadedModel loaded = LoadedModel.load(id, dir, engine.device(), engine.computeType());
        models.add(loaded, new ServingLimits(maxBatch, queue, profileCacheMiB, mergeThreads, mergeQueue));
        log.info("loaded model '{}' from {} ({} layers, {} MiB of weights as {}) in {} ms", id, dir,
                loaded.config().numLayers(), loaded.weightBytes() >> 20, loaded.model().matrixType(),
                (System.nanoTime() - start) / 1_000_000);
        for (var adapter : adapters.entrySet()) {
            // With tenants, "acme/task" is tenant acme's adapter "task": the registry's own spelling.
            String name = adapter.getKey();
            int slash = name.indexOf('/');
            if (!tenants.isOpen() && (slash < 0 || tenants.byName(name.substring(0, slash)).isEmpty())) {
                throw new IllegalArgumentException("--adapter " + name + ": with --config, name it TENANT/NAME for "
                        + "a tenant of " + config);
            }
            models.resolve(id).adapters().load(name, adapter.getValue());
        }
        tenants.watch(Duration.ofSeconds(Math.max(1, configPollSeconds)));
        RealignServer server = new RealignServer(
                NettyServerBuilder.forAddress(new InetSocketAddress(host, port)), models, tenants,
                new MonitoringOptions(host, metricsPort, logPrompts), uploads, safety, jobs).start();
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
            log.info("shutting down: finishing running streams (grace {} s)", graceSeconds);
            server.shutdown(Duration.ofSeconds(graceSeconds));
            log.info("stopped");
            // The request log is written asynchronously (logback.xml): stopping the context flushes its queue.
            if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logging) {
                logging.stop();
            }
        }));
        if (tenants.isOpen()) {
            log.info("Realign listening on {}:{} (model '{}'); DEVELOPMENT MODE: no tenants configured, open access",
                    host, server.port(), id);
        } else {
            log.info("Realign listening on {}:{} (model '{}'); {} tenants from {}, watched for changes", host,
                    server.port(), id, tenants.config().orElseThrow().tenants().size(), config);
        }
        if (server.metricsPort() != MonitoringOptions.OFF) {
            log.info("metrics on http://{}:{}/metrics, health on /healthz", host, server.metricsPort());
        }
        if (portFile != null) {
            Path tmp = portFile.resolveSibling(portFile.getFileName() + ".tmp");
            Files.writeString(tmp, Integer.toString(server.port()));
            Files.move(tmp, portFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        server.awaitTermination();
        return 0;
    }
}
