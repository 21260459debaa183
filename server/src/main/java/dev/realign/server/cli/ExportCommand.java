package dev.realign.server.cli;

import ai.djl.ndarray.NDManager;
import dev.realign.export.GgufDtype;
import dev.realign.export.GgufExportOptions;
import dev.realign.export.GgufExportResult;
import dev.realign.export.GgufExporter;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.ModelWriter;
import dev.realign.merge.ProfileMerger;
import dev.realign.merge.methods.MergeMethod;
import dev.realign.merge.methods.MergeMethods;
import dev.realign.merge.methods.MergeParameters;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.Weights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code export}: writes a model, or a merged profile of it, as GGUF (for llama.cpp and Ollama) or as a
 * Hugging Face safetensors folder; or a PEFT LoRA adapter as a GGUF LoRA adapter.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a model or a merged profile as GGUF or safetensors, or a LoRA adapter as GGUF.")
public final class ExportCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "The base model folder")
    Path model;

    @Option(names = "--format", defaultValue = "gguf", description = "gguf or safetensors (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--dtype", defaultValue = "f32", description = "f32 or f16 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--out", required = true, description = "GGUF file, or folder for safetensors")
    Path out;

    @Option(names = "--adapter", paramLabel = "NAME=DIR", description = "An adapter of the profile; repeatable")
    Map<String, Path> adapters = new LinkedHashMap<>();

    @Option(names = "--weight", paramLabel = "NAME=W", description = "An adapter's weight (default 1); repeatable")
    Map<String, Double> weights = new LinkedHashMap<>();

    @Option(names = "--method", defaultValue = "linear", description = "Merge method name (default: ${DEFAULT-VALUE})")
    String method;

    @Option(names = "--density", defaultValue = "1", description = "Density of every adapter for sparsifying methods")
    double density;

    @Option(names = "--param", paramLabel = "NAME=VALUE", description = "A method parameter (lambda, t, seed, ...); repeatable")
    Map<String, String> parameters = new LinkedHashMap<>();

    @Option(names = "--lora-adapter", paramLabel = "DIR",
            description = "Export this PEFT LoRA adapter of --model as a GGUF LoRA adapter instead of a model")
    Path loraAdapter;

    @Override
    public Integer call() {
        GgufDtype ggufType = GgufDtype.parse(dtype);
        if (loraAdapter != null) {
            requireFormat("gguf", "--lora-adapter");
            print(GgufExporter.exportLora(loraAdapter, model, out, ggufType));
            return 0;
        }
        for (String name : weights.keySet()) {
            if (!adapters.containsKey(name)) {
                throw new IllegalArgumentException("--weight " + name + " names no --adapter");
            }
        }
        try (LoadedModel base = LoadedModel.load("base", model, ai.djl.Device.cpu(), ComputeType.parse(dtype));
             NDManager manager = base.manager().newSubManager()) {
            List<DeltaSource> sources = new ArrayList<>();
            try {
                Weights profile = base.weights();
                if (!adapters.isEmpty()) {
                    for (var adapter : adapters.entrySet()) {
                        sources.add(Adapters.load(adapter.getKey(), adapter.getValue(), base));
                    }
                    profile = merged(base, sources, manager);
                }
                switch (format.toLowerCase(Locale.ROOT)) {
                    case "gguf" -> print(GgufExporter.exportModel(profile, model, out, GgufExportOptions.of(ggufType)));
                    case "safetensors" -> {
                        ModelWriter.write(profile, model, out, Map.of("exported_by", "realign"));
                        System.out.println("wrote " + out);
                    }
                    default -> throw new IllegalArgumentException("--format must be gguf or safetensors, got '" + format + "'");
                }
            } finally {
                sources.forEach(DeltaSource::close);
            }
        }
        return 0;
    }

    private Weights merged(LoadedModel base, List<DeltaSource> sources, NDManager manager) {
        MergeMethod mergeMethod = MergeMethods.byName(method.toLowerCase(Locale.ROOT));
        MergeParameters params = MergeParameters.DEFAULTS;
        for (var p : parameters.entrySet()) {
            params = params.with(p.getKey(), parse(p.getValue()));
        }
        double[] w = new double[sources.size()];
        double[] d = new double[sources.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = weights.getOrDefault(sources.get(i).name(), 1.0);
            d[i] = density;
        }
        var inputs = new ProfileMerger.Inputs(sources, w, d);
        return base.weights().withOverrides(ProfileMerger.materialize(base.weights(), mergeMethod, params, inputs,
                manager).overrides());
    }

    private static Object parse(String value) {
        if (value.equals("true") || value.equals("false")) {
            return Boolean.parseBoolean(value);
        }
        try {
            return value.matches("-?\\d+") ? (Object) Long.parseLong(value) : (Object) Double.parseDouble(value);
        } catch (NumberFormatException e) {
            return value;
        }
    }

    private void requireFormat(String wanted, String option) {
        if (!format.equalsIgnoreCase(wanted)) {
            throw new IllegalArgumentException(option + " needs --format " + wanted);
        }
    }

    private static void print(GgufExportResult result) {
        System.out.printf("wrote %s (%s, %d tensors, %d MiB)%n", result.file(), result.architecture(), result.tensors(),
                result.bytes() >> 20);
        result.notes().forEach(note -> System.out.println("note: " + note));
    }
}
