package dev.realign.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.realign.checkpoint.CheckpointException;
import dev.realign.checkpoint.FloatConversions;
import dev.realign.checkpoint.SafetensorsFile;
import dev.realign.checkpoint.TensorInfo;
import dev.realign.merge.Adapters.Tensors;
import dev.realign.model.ModelConfig;
import dev.realign.model.TensorLayout;
import dev.realign.model.Weights;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PEFT LoRA adapter ({@code adapter_config.json} + {@code adapter_model.safetensors}) as per-tensor deltas of
 * a base model: for each adapted module, {@code delta = scale * B @ A} in fp32, with
 * {@code scale = lora_alpha / r} ({@code lora_alpha / sqrt(r)} with {@code use_rslora}), r and alpha per module
 * from {@code rank_pattern} / {@code alpha_pattern}. Merge methods see that product, never A and B separately.
 * A and B are held in fp32 in the adapter's own sub-manager (for the unmerged fast path, {@link #lora}); the
 * delta is computed on demand.
 *
 * <h2>How the config is read (PEFT's rules, checked against its source)</h2>
 * <ul>
 *   <li>Module names are those of the base model, {@code model.layers.0.self_attn.q_proj} or {@code lm_head}:
 *       the HF tensor name without {@code .weight}. Tensor names in the file carry PEFT's
 *       {@code base_model.model.} prefix.</li>
 *   <li>{@code target_modules} decides which modules PEFT wraps (its {@code check_target_module_exists}): a
 *       string is a regex that must match the whole module name ({@code "all-linear"} means every Linear but the
 *       output head); a list matches a module named exactly so or ending in {@code "." + entry}, restricted by
 *       {@code layers_to_transform} / {@code layers_pattern}; {@code exclude_modules} and modules listed in
 *       {@code modules_to_save} are never wrapped. Missing {@code target_modules} means PEFT's default for the
 *       Llama family, {@code ["q_proj", "v_proj"]}. LoRA tensors for a module that the config does not select
 *       are an error: PEFT would silently not load them.</li>
 *   <li>{@code rank_pattern} / {@code alpha_pattern} keys are regexes matched as PEFT's {@code get_pattern_key}
 *       does: the first key (in file order) for which {@code (.*\.)?(KEY)$} matches the whole module name wins,
 *       so a key matches the full name or any dot-separated suffix of it; other modules use {@code r} /
 *       {@code lora_alpha}. Keys use Java's regex dialect, which agrees with Python's for the patterns PEFT
 *       writes (plain names, {@code .}, {@code \d}, alternations); Python-only syntax is a clear error.</li>
 *   <li>{@code fan_in_fan_out}: PEFT transposes the delta only for layers stored (in, out), GPT-2's Conv1D;
 *       for {@code nn.Linear}, which is every projection of the Llama family, PEFT resets the flag to false
 *       (with a warning) before loading. The base's tensors here are always (out, in), so the flag never
 *       changes the delta: it is {@code scale * B @ A} of shape (out, in) either way, and a warning is logged.</li>
 *   <li>{@code modules_to_save} tensors, saved as {@code base_model.model.lm_head.weight} (PEFT's form) or
 *       {@code base_model.model.lm_head.modules_to_save[.default].weight}, replace the base tensor whole:
 *       their delta is {@code replacement - base}, read from the memory-mapped file. A plain
 *       {@code base_model.model.<base tensor>} is a replacement too (PEFT loads it over the base, as for
 *       {@code save_embedding_layers}), unless the module is LoRA-wrapped, where PEFT would ignore it.</li>
 *   <li>Refused with a clear error: {@code peft_type} other than LORA, {@code bias} other than "none",
 *       {@code use_dora}, {@code lora_bias}, LoRA on embeddings ({@code lora_embedding_A/B}), variants that change
 *       the forward (qalora, aLoRA, VeLoRA, MonteCLoRA, BD-LoRA, Arrow, KaSA), {@code layer_replication},
 *       {@code target_parameters}, {@code trainable_token_indices}, and initializations that modify the base
 *       (PiSSA, OLoRA, CorDA, LoftQ, LoRA-GA: such an adapter is relative to a changed base unless converted
 *       with PEFT's {@code path_initial_model_for_weight_conversion}, which rewrites init_lora_weights to true).</li>
 * </ul>
 * Every tensor must be understood: an unknown name, A without B, a shape that does not fit the base, a rank
 * that contradicts the config, NaN or Inf are errors naming the file and tensor.
 */
public final class PeftLoraAdapter implements DeltaSource {
    static final String CONFIG = "adapter_config.json";
    static final String WEIGHTS = "adapter_model.safetensors";
    static final String PREFIX = "base_model.model.";
    /** PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for llama, mistral, qwen2 and qwen3. */
    static final List<String> DEFAULT_TARGET_MODULES = List.of("q_proj", "v_proj");

    private static final Logger LOG = LoggerFactory.getLogger(PeftLoraAdapter.class);
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final Pattern LORA = Pattern.compile("(.+)\\.lora_([AB])(\\.default)?\\.weight");
    private static final Pattern LORA_EMBEDDING = Pattern.compile("(.+)\\.lora_embedding_([AB])(\\.default)?");
    private static final Pattern LORA_BIAS = Pattern.compile("(.+)\\.lora_B(\\.default)?\\.bias");
    private static final Pattern DORA = Pattern.compile(".+\\.lora_magnitude_vector(\\..+)?");
    private static final Pattern SAVED = Pattern.compile("(.+)\\.modules_to_save(\\.default)?\\.([^.]+)");
    private static final Pattern BASE_LAYER = Pattern.compile(".+\\.base_layer\\..+");
    /** init_lora_weights values whose trained adapter is relative to a modified base. */
    private static final Pattern BASE_MODIFYING_INIT = Pattern.compile("pissa(_niter_\\d+)?|olora|corda|loftq|lora_ga");
    private static final Set<String> HARMLESS_INIT = Set.of("gaussian", "eva", "orthogonal", "mica");
    /** Config fields that select a LoRA variant (or feature) whose delta is not scale * B @ A of the base. */
    private static final List<String> UNSUPPORTED_WHEN_SET = List.of("lora_bias", "use_qalora",
            "alora_invocation_tokens", "velora_config", "monteclora_config", "use_bdlora", "arrow_config",
            "kasa_config", "layer_replication", "target_parameters", "trainable_token_indices");

    /** One LoRA target: factors in the adapter's manager. */
    private record Lora(String target, NDArray a, NDArray b, int rank, double alpha, float scale) {}

    private final String name;
    private final Weights base;
    private final NDManager manager;
    private final SafetensorsFile file;  // kept open only while replacements read from it
    private final SequencedMap<String, Lora> loras;
    private final SequencedMap<String, TensorInfo> replacements;
    private final Set<String> targets;
    private final String contentHash;
    private final int rank;
    private final long sizeBytes;
    private final AtomicBoolean closed = new AtomicBoolean();

    private PeftLoraAdapter(String name, Weights base, NDManager manager, SafetensorsFile file,
            SequencedMap<String, Lora> loras, SequencedMap<String, TensorInfo> replacements, Set<String> targets,
            String contentHash) {
        this.name = name;
        this.base = base;
        this.manager = manager;
        this.file = file;
        this.loras = Collections.unmodifiableSequencedMap(loras);
        this.replacements = Collections.unmodifiableSequencedMap(replacements);
        this.targets = Collections.unmodifiableSet(targets);
        this.contentHash = contentHash;
        this.rank = loras.values().stream().mapToInt(Lora::rank).max().orElse(0);
        this.sizeBytes = loras.values().stream()
                .mapToLong(l -> 4 * (l.a().getShape().size() + l.b().getShape().size())).sum();
    }

    /**
     * Reads the PEFT adapter in {@code dir} for the base described by {@code base} / {@code baseWeights}.
     *
     * @param parent the adapter's factors live in a sub-manager of it, closed by {@link #close()}
     */
    public static PeftLoraAdapter load(String name, Path dir, ModelConfig base, Weights baseWeights, NDManager parent) {
        Objects.requireNonNull(name, "name");
        Path configFile = dir.resolve(CONFIG);
        Config config = Config.read(configFile);
        Path weightsFile = dir.resolve(WEIGHTS);
        if (!Files.exists(weightsFile) && Files.exists(dir.resolve("adapter_model.bin"))) {
            throw CheckpointException.inFile(dir, "holds adapter_model.bin but no " + WEIGHTS
                    + "; only safetensors adapters are read (pickle files can run code)");
        }
        SafetensorsFile file = SafetensorsFile.open(weightsFile);
        NDManager manager = null;
        try {
            manager = parent.newSubManager();
            PeftLoraAdapter adapter = build(name, file, config, base, baseWeights, manager);
            if (adapter.replacements.isEmpty()) {
                file.close(); // the factors were copied; nothing reads the file any more
            }
            return adapter;
        } catch (RuntimeException | Error e) {
            if (manager != null) {
                manager.close();
            }
            file.close();
            throw e;
        }
    }

    private static PeftLoraAdapter build(String name, SafetensorsFile file, Config config, ModelConfig base,
            Weights baseWeights, NDManager manager) {
        Path path = file.path();
        SequencedMap<String, long[]> layout = TensorLayout.expected(base);
        if (file.names().isEmpty()) {
            throw CheckpointException.inFile(path, "holds no tensors");
        }
        // Sort every tensor of the file into A, B or replacement of one base tensor; nothing is skipped.
        Map<String, TensorInfo> aOf = new LinkedHashMap<>();
        Map<String, TensorInfo> bOf = new LinkedHashMap<>();
        Map<String, TensorInfo> replacementOf = new LinkedHashMap<>();
        Map<String, String> replacementForm = new LinkedHashMap<>(); // target -> "plain" or "modules_to_save"
        for (String tensor : file.names()) {
            TensorInfo info = file.info(tensor);
            if (!tensor.startsWith(PREFIX)) {
                throw unknown(path, tensor, "does not start with PEFT's '" + PREFIX + "' prefix");
            }
            String rest = tensor.substring(PREFIX.length());
            Matcher m;
            if ((m = LORA.matcher(rest)).matches()) {
                String module = m.group(1);
                String target = linearTarget(path, tensor, module, layout, base);
                Map<String, TensorInfo> side = m.group(2).equals("A") ? aOf : bOf;
                TensorInfo previous = side.put(target, info);
                if (previous != null) {
                    throw CheckpointException.inTensor(path, tensor, "gives lora_" + m.group(2) + " of module '"
                            + module + "', as tensor '" + previous.name() + "' already does");
                }
            } else if (LORA_EMBEDDING.matcher(rest).matches()) {
                throw CheckpointException.inTensor(path, tensor, "is a LoRA on an embedding (lora_embedding_A/B);"
                        + " only LoRA on Linear layers is supported");
            } else if (LORA_BIAS.matcher(rest).matches()) {
                throw CheckpointException.inTensor(path, tensor, "is a bias of lora_B (lora_bias=true), which is not"
                        + " supported");
            } else if (DORA.matcher(rest).matches()) {
                throw CheckpointException.inTensor(path, tensor, "is a DoRA magnitude vector; DoRA is not supported");
            } else if ((m = SAVED.matcher(rest)).matches()) {
                String module = m.group(1);
                String target = module + "." + m.group(3);
                if (config.modulesToSave().stream().noneMatch(module::endsWith)) {
                    throw CheckpointException.inTensor(path, tensor, "is a modules_to_save tensor of module '" + module
                            + "', but " + CONFIG + "'s modules_to_save " + config.modulesToSave() + " does not list it");
                }
                putReplacement(path, tensor, target, info, layout, replacementOf, replacementForm, "modules_to_save");
            } else if (BASE_LAYER.matcher(rest).matches()) {
                throw CheckpointException.inTensor(path, tensor, "replaces the base layer under a LoRA-wrapped module;"
                        + " a module both replaced and LoRA-adapted is not supported");
            } else if (layout.containsKey(rest)) {
                putReplacement(path, tensor, rest, info, layout, replacementOf, replacementForm, "plain");
            } else {
                throw unknown(path, tensor, "is neither <module>.lora_A/lora_B[.default].weight, nor"
                        + " <module>.modules_to_save[.default].<param>, nor a tensor of the base's " + base.modelType()
                        + " layout");
            }
        }
        for (String target : aOf.keySet()) {
            if (!bOf.containsKey(target)) {
                throw CheckpointException.inTensor(path, aOf.get(target).name(), "has no matching lora_B");
            }
        }
        for (String target : bOf.keySet()) {
            if (!aOf.containsKey(target)) {
                throw CheckpointException.inTensor(path, bOf.get(target).name(), "has no matching lora_A");
            }
        }
        for (var entry : replacementOf.entrySet()) {
            String target = entry.getKey();
            String module = moduleOf(target);
            if (aOf.containsKey(target)) {
                throw CheckpointException.inTensor(path, entry.getValue().name(), "replaces tensor '" + target
                        + "', which the adapter also LoRA-adapts");
            }
            if (replacementForm.get(target).equals("plain") && config.selects(module, isLinear(target))) {
                throw CheckpointException.inTensor(path, entry.getValue().name(), "replaces module '" + module
                        + "', which target_modules LoRA-wraps: PEFT would not load this tensor");
            }
        }

        MessageDigest digest = Tensors.sha256();
        Tensors.update(digest, "realign peft lora v1");
        SequencedMap<String, Lora> loras = new LinkedHashMap<>();
        SequencedMap<String, TensorInfo> replacements = new LinkedHashMap<>();
        Set<String> targets = new LinkedHashSet<>();
        // Base layout order: the same targets in any file order give the same adapter and hash.
        for (var entry : layout.entrySet()) {
            String target = entry.getKey();
            long[] baseShape = entry.getValue();
            if (aOf.containsKey(target)) {
                Lora lora = readLora(path, config, target, baseShape, aOf.get(target), bOf.get(target), file, manager);
                loras.put(target, lora);
                targets.add(target);
                Tensors.update(digest, "lora");
                Tensors.update(digest, target);
                Tensors.update(digest, lora.rank());
                Tensors.update(digest, Float.floatToIntBits(lora.scale()));
                digestFloats(digest, lora.a());
                digestFloats(digest, lora.b());
            } else if (replacementOf.containsKey(target)) {
                TensorInfo info = replacementOf.get(target);
                if (!Arrays.equals(info.shape(), baseShape)) {
                    throw CheckpointException.inTensor(path, info.name(), "shape " + Arrays.toString(info.shape())
                            + " differs from base tensor '" + target + "' of shape " + Arrays.toString(baseShape));
                }
                ByteBuffer bytes = file.data(info.name());
                Tensors.requireFiniteFloating(path, info, bytes);
                replacements.put(target, info);
                targets.add(target);
                Tensors.update(digest, "replace", target, info.dtype(), info.shape(), bytes);
            }
        }
        for (String target : targets) {
            baseWeights.tensor(target); // the served weights must hold what the layout promises
        }
        if (config.fanInFanOut() && !loras.isEmpty()) {
            LOG.warn("{}: fan_in_fan_out=true is ignored: the {} projections are nn.Linear, for which PEFT itself resets"
                    + " it to false; delta = scale * B @ A, (out, in)", config.file(), base.modelType());
        }
        return new PeftLoraAdapter(name, baseWeights, manager, file, loras, replacements, targets,
                HexFormat.of().formatHex(digest.digest()));
    }

    private static Lora readLora(Path path, Config config, String target, long[] baseShape, TensorInfo a, TensorInfo b,
            SafetensorsFile file, NDManager manager) {
        String module = moduleOf(target);
        if (!config.selects(module, true)) {
            throw CheckpointException.inTensor(path, a.name(), "adapts module '" + module + "', which " + CONFIG
                    + " does not select (target_modules " + config.targetModulesText() + "): PEFT would not load it");
        }
        Config.Resolved resolved = config.resolve(module);
        long out = baseShape[0];
        long in = baseShape[1];
        long r = resolved.r();
        long[] aShape = a.shape();
        long[] bShape = b.shape();
        if (aShape.length != 2 || aShape[1] != in || bShape.length != 2 || bShape[0] != out) {
            throw CheckpointException.inTensor(path, aShape.length != 2 || aShape[1] != in ? a.name() : b.name(),
                    "lora_A " + Arrays.toString(aShape) + " and lora_B " + Arrays.toString(bShape)
                            + " do not fit base tensor '" + target + "' of shape " + Arrays.toString(baseShape)
                            + ": need lora_A (r, " + in + ") and lora_B (" + out + ", r)");
        }
        if (aShape[0] != bShape[1]) {
            throw CheckpointException.inTensor(path, a.name(), "has rank " + aShape[0] + " but '" + b.name()
                    + "' has rank " + bShape[1]);
        }
        if (aShape[0] != r) {
            throw CheckpointException.inTensor(path, a.name(), "has rank " + aShape[0] + " but " + CONFIG + " gives module '"
                    + module + "' r=" + r + " (" + resolved.rankSource() + ")");
        }
        float[] aValues = finiteFloats(path, file, a);
        float[] bValues = finiteFloats(path, file, b);
        NDArray aArray = manager.create(aValues, new Shape(aShape));
        NDArray bArray = manager.create(bValues, new Shape(bShape));
        double scale = config.useRslora() ? resolved.alpha() / Math.sqrt(r) : resolved.alpha() / r;
        return new Lora(target, aArray, bArray, (int) r, resolved.alpha(), (float) scale);
    }

    private static float[] finiteFloats(Path path, SafetensorsFile file, TensorInfo info) {
        ByteBuffer bytes = file.data(info.name());
        Tensors.requireFiniteFloating(path, info, bytes);
        return FloatConversions.toFloats(info.dtype(), bytes, Math.toIntExact(info.numel()));
    }

    private static void digestFloats(MessageDigest digest, NDArray array) {
        float[] values = array.toFloatArray();
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        Tensors.update(digest, Arrays.toString(array.getShape().getShape()));
        digest.update(bytes);
    }

    private static void putReplacement(Path path, String tensor, String target, TensorInfo info,
            SequencedMap<String, long[]> layout, Map<String, TensorInfo> replacementOf, Map<String, String> form,
            String kind) {
        if (!layout.containsKey(target)) {
            throw CheckpointException.inTensor(path, tensor, "replaces '" + target
                    + "', which the base does not have (a tied lm_head has no tensor of its own)");
        }
        TensorInfo previous = replacementOf.put(target, info);
        if (previous != null) {
            throw CheckpointException.inTensor(path, tensor, "replaces '" + target + "', as tensor '"
                    + previous.name() + "' already does");
        }
        form.put(target, kind);
    }

    /** The base tensor a LoRA on {@code module} changes: it must exist and be a Linear weight. */
    private static String linearTarget(Path path, String tensor, String module, SequencedMap<String, long[]> layout,
            ModelConfig base) {
        String target = module + ".weight";
        if (!layout.containsKey(target)) {
            throw CheckpointException.inTensor(path, tensor, "adapts module '" + module + "', but the base ("
                    + base.modelType() + ", " + base.numLayers() + " layers" + (base.tieWordEmbeddings()
                    ? ", tied lm_head" : "") + ") has no tensor '" + target + "'");
        }
        if (!isLinear(target)) {
            throw CheckpointException.inTensor(path, tensor, "adapts module '" + module
                    + "', which is not a Linear layer");
        }
        return target;
    }

    /** The Llama family's Linear weights: the projections and the untied output head. */
    static boolean isLinear(String target) {
        return target.endsWith("_proj.weight") || target.equals(TensorLayout.LM_HEAD);
    }

    static String moduleOf(String target) {
        return target.substring(0, target.lastIndexOf('.'));
    }

    private static CheckpointException unknown(Path path, String tensor, String why) {
        return CheckpointException.inTensor(path, tensor, "unknown adapter tensor: " + why);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public AdapterKind kind() {
        return AdapterKind.LORA;
    }

    @Override
    public String contentHash() {
        return contentHash;
    }

    @Override
    public Set<String> targets() {
        return targets;
    }

    /** delta = scale * B @ A for a LoRA target; replacement - base for a modules_to_save target. */
    @Override
    public NDArray delta(String target, NDManager into) {
        ensureOpen();
        Lora lora = loras.get(target);
        if (lora != null) {
            NDArray product = lora.b().matMul(lora.a()); // created in the adapter's manager: move it
            product.attach(into);
            return product.muli(lora.scale());
        }
        TensorInfo replacement = replacements.get(target);
        if (replacement != null) {
            return Tensors.minusBase(file, replacement, base.tensor(target), into);
        }
        throw new IllegalArgumentException("adapter '" + name + "' does not change tensor '" + target + "'");
    }

    @Override
    public Optional<LoraFactors> lora(String target) {
        ensureOpen();
        Lora lora = loras.get(target);
        return lora == null ? Optional.empty() : Optional.of(new LoraFactors(lora.a(), lora.b(), lora.scale()));
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    /** lora_alpha of a LoRA target after alpha_pattern (for writers and diagnostics); empty for replacements. */
    public Optional<Double> alpha(String target) {
        Lora lora = loras.get(target);
        return lora == null ? Optional.empty() : Optional.of(lora.alpha());
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                manager.close();
            } finally {
                file.close();
            }
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("adapter '" + name + "' is closed");
        }
    }

    @Override
    public String toString() {
        return "PeftLoraAdapter[" + name + ", " + loras.size() + " LoRA targets (max rank " + rank + "), "
                + replacements.size() + " replacements]";
    }

    /** The fields of adapter_config.json that decide which tensors mean what. */
    private record Config(Path file, int r, double loraAlpha, boolean useRslora, boolean fanInFanOut,
            Object targetModules, Object excludeModules, List<Pattern> modulesToSaveExclusions,
            List<String> modulesToSave, Set<Integer> layersToTransform, List<String> layersPattern,
            SequencedMap<String, Pattern> rankKeys, Map<String, Integer> rankPattern,
            SequencedMap<String, Pattern> alphaKeys, Map<String, Double> alphaPattern) {

        record Resolved(int r, double alpha, String rankSource) {}

        private static final String ALL_LINEAR = "all-linear";

        static Config read(Path file) {
            JsonNode root;
            try {
                root = JSON.readTree(Files.readString(file));
            } catch (NoSuchFileException e) {
                throw new CheckpointException(file + ": no such file", e);
            } catch (JacksonException e) {
                throw new CheckpointException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
            } catch (IOException e) {
                throw new CheckpointException(file + ": cannot read: " + e, e);
            }
            if (root == null || !root.isObject()) {
                throw CheckpointException.inFile(file, "expected a JSON object");
            }
            var f = new Fields(file, root);
            String peftType = f.string("peft_type").orElseThrow(() -> CheckpointException.inFile(file,
                    "has no peft_type: not a PEFT adapter config"));
            if (!peftType.equals("LORA")) {
                throw CheckpointException.inFile(file, "peft_type is '" + peftType + "'; only LORA adapters are supported");
            }
            if (f.bool("use_dora").orElse(false)) {
                throw CheckpointException.inFile(file, "use_dora=true: DoRA is not supported (its delta rescales"
                        + " the base weight's columns, it is not scale * B @ A)");
            }
            String bias = f.string("bias").orElse("none");
            if (!bias.equals("none")) {
                throw CheckpointException.inFile(file, "bias='" + bias + "': the adapter also trained the base's biases;"
                        + " only bias='none' is supported");
            }
            for (String field : UNSUPPORTED_WHEN_SET) {
                if (isSet(root.get(field))) {
                    throw CheckpointException.inFile(file, field + " is set (" + root.get(field)
                            + "): that LoRA variant or feature is not supported");
                }
            }
            JsonNode init = root.get("init_lora_weights");
            if (init != null && init.isTextual()) {
                String value = init.textValue();
                if (BASE_MODIFYING_INIT.matcher(value.toLowerCase(Locale.ROOT)).matches()) {
                    throw CheckpointException.inFile(file, "init_lora_weights='" + value + "' trains the adapter"
                            + " against a modified base; convert it with PEFT's path_initial_model_for_weight_conversion"
                            + " (which sets init_lora_weights to true) to get an adapter of the original base");
                }
                if (!HARMLESS_INIT.contains(value)) {
                    throw CheckpointException.inFile(file, "init_lora_weights='" + value + "' is not a value Realign"
                            + " knows (known: true, false, " + String.join(", ", new TreeSet<>(HARMLESS_INIT)) + ")");
                }
            } else if (init != null && !init.isNull() && !init.isBoolean()) {
                throw CheckpointException.inFile(file, "init_lora_weights must be true, false or a string, got " + init);
            }
            int r = f.positiveInt("r").orElse(8);
            double alpha = f.finiteNumber("lora_alpha").orElse(8.0);
            Object targetModules = f.stringOrList("target_modules")
                    .map(v -> v instanceof String s && !s.equalsIgnoreCase(ALL_LINEAR) ? f.regex("target_modules", s) : v)
                    .orElse(DEFAULT_TARGET_MODULES);
            Object excludeModules = f.stringOrList("exclude_modules")
                    .map(v -> v instanceof String s ? f.regex("exclude_modules", s) : v)
                    .orElse(List.of());
            List<String> modulesToSave = f.stringList("modules_to_save");
            List<Pattern> exclusions = new ArrayList<>();
            for (String m : modulesToSave) {
                exclusions.add(f.regex("modules_to_save", "(^|.*\\.)" + m + "($|\\..*)"));
            }
            Set<Integer> layers = f.layers("layers_to_transform");
            List<String> layersPattern = f.stringOrList("layers_pattern")
                    .map(v -> v instanceof String s ? List.of(s) : castList(v)).orElse(List.of());
            if (targetModules instanceof Pattern && (layers != null || !layersPattern.isEmpty())) {
                throw CheckpointException.inFile(file, "layers_to_transform / layers_pattern cannot be used with a"
                        + " regex target_modules (PEFT refuses this config too)");
            }
            SequencedMap<String, Pattern> rankKeys = new LinkedHashMap<>();
            Map<String, Integer> rankPattern = new LinkedHashMap<>();
            for (var e : f.object("rank_pattern").entrySet()) {
                JsonNode v = e.getValue();
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) {
                    throw CheckpointException.inFile(file, "rank_pattern['" + e.getKey()
                            + "'] must be a positive integer, got " + v);
                }
                rankKeys.put(e.getKey(), f.patternKey("rank_pattern", e.getKey()));
                rankPattern.put(e.getKey(), v.intValue());
            }
            SequencedMap<String, Pattern> alphaKeys = new LinkedHashMap<>();
            Map<String, Double> alphaPattern = new LinkedHashMap<>();
            for (var e : f.object("alpha_pattern").entrySet()) {
                JsonNode v = e.getValue();
                if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
                    throw CheckpointException.inFile(file, "alpha_pattern['" + e.getKey()
                            + "'] must be a finite number, got " + v);
                }
                alphaKeys.put(e.getKey(), f.patternKey("alpha_pattern", e.getKey()));
                alphaPattern.put(e.getKey(), v.doubleValue());
            }
            return new Config(file, r, alpha, f.bool("use_rslora").orElse(false), f.bool("fan_in_fan_out").orElse(false),
                    targetModules, excludeModules, exclusions, modulesToSave, layers, layersPattern, rankKeys,
                    rankPattern, alphaKeys, alphaPattern);
        }

        @SuppressWarnings("unchecked")
        private static List<String> castList(Object value) {
            return (List<String>) value;
        }

        /** A value that selects a feature: not absent, null, false or empty. */
        private static boolean isSet(JsonNode node) {
            return node != null && !node.isNull() && !(node.isBoolean() && !node.booleanValue())
                    && !(node.isContainerNode() && node.isEmpty());
        }

        /** PEFT's check_target_module_exists for a module of the base; {@code linear} for "all-linear". */
        boolean selects(String module, boolean linear) {
            if (excludeModules instanceof Pattern p) {
                if (p.matcher(module).matches()) {
                    return false;
                }
            } else if (castList(excludeModules).stream().anyMatch(e -> module.equals(e) || module.endsWith("." + e))) {
                return false;
            }
            if (modulesToSaveExclusions.stream().anyMatch(p -> p.matcher(module).matches())) {
                return false;
            }
            if (targetModules instanceof Pattern p) {
                return p.matcher(module).matches();
            }
            if (targetModules instanceof String) { // all-linear: every Linear but the output head
                return linear && !module.equals(moduleOf(TensorLayout.LM_HEAD));
            }
            List<String> list = castList(targetModules);
            if (list.contains(module)) {
                return true;
            }
            boolean found = list.stream().anyMatch(t -> module.endsWith("." + t));
            if (found && layersToTransform != null) {
                Integer index = layerIndex(module);
                return index != null && layersToTransform.contains(index);
            }
            return found;
        }

        /** The layer index as PEFT finds it: the first number after a layers_pattern (or any) segment. */
        private Integer layerIndex(String module) {
            List<Pattern> patterns = new ArrayList<>();
            if (layersPattern.isEmpty()) {
                patterns.add(Pattern.compile(".*?\\.[^.]*\\.(\\d+)\\."));
            } else {
                for (String p : layersPattern) {
                    patterns.add(Pattern.compile(".*?\\." + p + "\\.(\\d+)\\."));
                }
            }
            for (Pattern p : patterns) {
                Matcher m = p.matcher(module);
                if (m.lookingAt()) {
                    return Integer.valueOf(m.group(1));
                }
            }
            return null;
        }

        /** r and alpha of one module: the first matching rank_pattern / alpha_pattern key, else r / lora_alpha. */
        Resolved resolve(String module) {
            int moduleR = r;
            String source = "r";
            for (var key : rankKeys.entrySet()) {
                if (key.getValue().matcher(module).matches()) {
                    moduleR = rankPattern.get(key.getKey());
                    source = "rank_pattern key '" + key.getKey() + "'";
                    break;
                }
            }
            double moduleAlpha = loraAlpha;
            for (var key : alphaKeys.entrySet()) {
                if (key.getValue().matcher(module).matches()) {
                    moduleAlpha = alphaPattern.get(key.getKey());
                    break;
                }
            }
            return new Resolved(moduleR, moduleAlpha, source);
        }

        String targetModulesText() {
            return targetModules instanceof Pattern p ? "'" + p.pattern() + "'" : targetModules.toString();
        }
    }

    /** Typed reads of adapter_config.json whose errors name the file and field. */
    private record Fields(Path file, JsonNode root) {
        Optional<String> string(String field) {
            JsonNode v = root.get(field);
            if (v == null || v.isNull()) {
                return Optional.empty();
            }
            if (!v.isTextual()) {
                throw wrong(field, "a string", v);
            }
            return Optional.of(v.textValue());
        }

        Optional<Boolean> bool(String field) {
            JsonNode v = root.get(field);
            if (v == null || v.isNull()) {
                return Optional.empty();
            }
            if (!v.isBoolean()) {
                throw wrong(field, "true or false", v);
            }
            return Optional.of(v.booleanValue());
        }

        Optional<Integer> positiveInt(String field) {
            JsonNode v = root.get(field);
            if (v == null || v.isNull()) {
                return Optional.empty();
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) {
                throw wrong(field, "a positive integer", v);
            }
            return Optional.of(v.intValue());
        }

        Optional<Double> finiteNumber(String field) {
            JsonNode v = root.get(field);
            if (v == null || v.isNull()) {
                return Optional.empty();
            }
            if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
                throw wrong(field, "a finite number", v);
            }
            return Optional.of(v.doubleValue());
        }

        /** A string, or a list of strings (as a List). */
        Optional<Object> stringOrList(String field) {
            JsonNode v = root.get(field);
            if (v == null || v.isNull()) {
                return Optional.empty();
            }
            if (v.isTextual()) {
                return Optional.of(v.textValue());
            }
            if (v.isArray()) {
                return Optional.of(stringList(field));
            }
            throw wrong(field, "a string or a list of strings", v);
        }

        List<String> stringList(String field) {
            JsonNode v = root.get(field);
            if (v == null || v.isNull()) {
                return List.of();
            }
            if (!v.isArray()) {
                throw wrong(field, "a list of strings", v);
            }
            List<String> out = new ArrayList<>();
            for (JsonNode item : v) {
                if (!item.isTextual()) {
                    throw wrong(field, "a list of strings", v);
                }
                out.add(item.textValue());
            }
            return List.copyOf(out);
        }

        Set<Integer> layers(String field) {
            JsonNode v = root.get(field);
            if (v == null || v.isNull() || (v.isArray() && v.isEmpty())) {
                return null;
            }
            Set<Integer> out = new TreeSet<>();
            if (v.isIntegralNumber() && v.canConvertToInt()) {
                out.add(v.intValue());
                return out;
            }
            if (!v.isArray()) {
                throw wrong(field, "an integer or a list of integers", v);
            }
            for (JsonNode item : v) {
                if (!item.isIntegralNumber() || !item.canConvertToInt()) {
                    throw wrong(field, "an integer or a list of integers", v);
                }
                out.add(item.intValue());
            }
            return out;
        }

        Map<String, JsonNode> object(String field) {
            JsonNode v = root.get(field);
            if (v == null || v.isNull()) {
                return Map.of();
            }
            if (!v.isObject()) {
                throw wrong(field, "an object", v);
            }
            Map<String, JsonNode> out = new LinkedHashMap<>();
            v.properties().forEach(e -> out.put(e.getKey(), e.getValue()));
            return out;
        }

        Pattern regex(String field, String regex) {
            try {
                return Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw CheckpointException.inFile(file, field + ": '" + regex + "' is not a regex Realign can read: "
                        + e.getDescription());
            }
        }

        /** PEFT's get_pattern_key: the key matches the whole module name or a dot-separated suffix of it. */
        Pattern patternKey(String field, String key) {
            return regex(field + " key", "(.*\\.)?(" + key + ")$");
        }

        private CheckpointException wrong(String field, String expected, JsonNode value) {
            return CheckpointException.inFile(file, "field '" + field + "' must be " + expected + ", got " + value);
        }
    }
}
