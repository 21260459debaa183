package dev.realign.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.merge.methods.MergeMethod;
import dev.realign.merge.methods.MergeMethods;
import dev.realign.merge.methods.MergeParameters;
import dev.realign.model.LoadedModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The offline {@code merge} command's engine: a {@link MergeConfig} over a loaded base, merged with the
 * same {@link ProfileMerger} code the server uses for per-request profiles, written as a Hugging Face folder.
 * mergekit's meanings hold: {@code linear} normalizes by default, and a model equal to the base takes part
 * with a zero delta (its weight still counts where the method divides by the weights).
 */
public final class OfflineMerge {
    private OfflineMerge() {}

    public record Result(Path out, int mergedTensors, long mergedBytes) {}

    public static Result run(MergeConfig config, LoadedModel base, Path out) {
        MergeMethod method = MergeMethods.byName(config.method());
        Map<String, Object> parameters = new LinkedHashMap<>(config.parameters());
        if (method.name().equals("linear")) {
            Object normalize = parameters.putIfAbsent("normalize", true); // mergekit's default for linear
            if (Boolean.FALSE.equals(normalize)) {
                throw new IllegalArgumentException("linear with normalize: false is mergekit's sum of full models "
                        + "(sum_i w_i m_i, not base-relative); use task_arithmetic for base + sum_i w_i delta_i");
            }
        }
        MergeParameters params = MergeParameters.of(parameters);
        Path basePath = config.baseModel().toAbsolutePath().normalize();
        List<DeltaSource> adapters = new ArrayList<>();
        try {
            double[] weights = new double[config.models().size()];
            double[] densities = new double[config.models().size()];
            for (int i = 0; i < config.models().size(); i++) {
                MergeConfig.Member m = config.models().get(i);
                String where = "models[" + i + "]";
                adapters.add(source(m, basePath, base, where));
                if (m.weight() == null && method.usesWeights()) {
                    throw new IllegalArgumentException(where + ".parameters.weight is required by " + method.name());
                }
                weights[i] = m.weight() == null ? 1 : m.weight();
                densities[i] = m.density();
            }
            var inputs = new ProfileMerger.Inputs(adapters, weights, densities);
            try (NDManager manager = base.manager().newSubManager()) {
                var merged = ProfileMerger.materialize(base.weights(), method, params, inputs, manager);
                ModelWriter.write(base.weights().withOverrides(merged.overrides()), base.directory(), out,
                        Map.of("merged_by", "realign", "merge_method", method.name()));
                return new Result(out, merged.overrides().size(), merged.bytes());
            }
        } finally {
            adapters.forEach(DeltaSource::close);
        }
    }

    private static DeltaSource source(MergeConfig.Member m, Path basePath, LoadedModel base, String where) {
        boolean isBase = m.model().toAbsolutePath().normalize().equals(basePath);
        if (m.lora() != null) {
            if (!isBase) {
                throw new IllegalArgumentException(where + ".model: a LoRA must sit on base_model (" + basePath
                        + "), not on " + m.model());
            }
            return Adapters.load(where, m.lora(), base);
        }
        return isBase ? new BaseItself(where) : Adapters.load(where, m.model(), base);
    }

    /** The base model listed among the merged models: it changes nothing. */
    private record BaseItself(String name) implements DeltaSource {
        @Override
        public AdapterKind kind() {
            return AdapterKind.FULL_DELTA;
        }

        @Override
        public String contentHash() {
            return "base";
        }

        @Override
        public Set<String> targets() {
            return Set.of();
        }

        @Override
        public NDArray delta(String target, NDManager manager) {
            throw new IllegalArgumentException("the base model changes no tensor, asked for " + target);
        }

        @Override
        public Optional<LoraFactors> lora(String target) {
            return Optional.empty();
        }

        @Override
        public int rank() {
            return 0;
        }

        @Override
        public long sizeBytes() {
            return 0;
        }

        @Override
        public void close() {
        }
    }
}
