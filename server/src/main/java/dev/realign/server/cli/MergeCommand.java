package dev.realign.server.cli;

import dev.realign.merge.MergeConfig;
import dev.realign.merge.OfflineMerge;
import dev.realign.model.LoadedModel;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code merge CONFIG.yml --out DIR}: mergekit's YAML, merged by the server's merge code, written as an HF folder. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge models as a mergekit YAML config says and write a Hugging Face model folder.")
public final class MergeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CONFIG", description = "mergekit-style YAML (or JSON)")
    Path config;

    @Option(names = "--out", required = true, description = "Folder to write")
    Path out;

    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() {
        MergeConfig merge = MergeConfig.load(config);
        long start = System.nanoTime();
        engine.configureThreads();
        try (LoadedModel base = LoadedModel.load("base", merge.baseModel(), engine.device(), engine.computeType())) {
            OfflineMerge.Result result = OfflineMerge.run(merge, base, out);
            System.out.printf("merged %d tensors (%d MiB) with %s in %d ms -> %s%n", result.mergedTensors(),
                    result.mergedBytes() >> 20, merge.method(), (System.nanoTime() - start) / 1_000_000, out);
        }
        return 0;
    }
}
