package dev.realign.server.cli;

import ai.djl.ndarray.NDManager;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.LoraExtractor;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code extract-lora}: a PEFT LoRA adapter from a full fine-tune, by truncated SVD of each projection's
 * delta (as mergekit-extract-lora does), with the relative error of each tensor reported.
 */
@Command(name = "extract-lora", mixinStandardHelpOptions = true,
        description = "Extract a PEFT LoRA adapter from a full fine-tune of a base by truncated SVD.")
public final class ExtractLoraCommand implements Callable<Integer> {
    @Option(names = "--base", required = true, description = "The base model folder")
    Path base;

    @Option(names = "--model", required = true, description = "The full fine-tune of the base")
    Path model;

    @Option(names = "--rank", required = true, description = "LoRA rank")
    int rank;

    @Option(names = "--out", required = true, description = "Folder for the PEFT adapter")
    Path out;

    @Override
    public Integer call() {
        try (LoadedModel loaded = LoadedModel.load("base", base, ai.djl.Device.cpu(), ComputeType.F32);
             DeltaSource fineTune = Adapters.load("fine-tune", model, loaded);
             NDManager manager = loaded.manager().newSubManager()) {
            LoraExtractor.Result result = LoraExtractor.extract(fineTune, LoraExtractor.Options.rank(rank), manager);
            result.write(out, base.toString());
            result.relativeErrors().forEach((tensor, error) ->
                    System.out.printf(Locale.ROOT, "%-50s relative error %.4f%n", tensor, error));
            System.out.printf(Locale.ROOT, "wrote rank-%d adapter of %d tensors to %s (max relative error %.4f)%n",
                    rank, result.modules().size(), out, result.maxRelativeError());
        }
        return 0;
    }
}
