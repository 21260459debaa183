package dev.realign.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.realign.checkpoint.DType;
import dev.realign.checkpoint.SafetensorsStreamWriter;
import dev.realign.checkpoint.SafetensorsStreamWriter.Entry;
import dev.realign.merge.Adapters.Tensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Writes a LoRA adapter in PEFT's format so that PEFT, mergekit, llama.cpp's converter and Realign read it:
 * {@code adapter_config.json} (peft_type LORA, task_type CAUSAL_LM, r, lora_alpha, target_modules,
 * rank_pattern/alpha_pattern, use_rslora false, fan_in_fan_out false, bias none; keys sorted, as PEFT writes
 * them) and {@code adapter_model.safetensors} with {@code base_model.model.<module>.lora_A.weight} (r, in) and
 * {@code .lora_B.weight} (out, r) in F32.
 *
 * <p>As mergekit's extract_lora does: {@code r} is the largest rank and modules of another rank get a
 * {@code rank_pattern} entry; {@code lora_alpha} is the most common alpha and other alphas get an
 * {@code alpha_pattern} entry; pattern keys are the full module names (which, read as PEFT's suffix regexes,
 * select exactly that module). {@code target_modules} lists the last name components (q_proj, ...): PEFT wraps
 * every module of those names, and the ones without tensors keep a zero lora_B, so the model is the same.
 * Whole-tensor replacements are written as PEFT writes modules_to_save ({@code base_model.model.lm_head.weight})
 * with their modules listed in {@code modules_to_save}.
 */
public final class PeftLoraWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PeftLoraWriter() {}

    /**
     * One LoRA target.
     *
     * @param target base tensor name, {@code model.layers.0.self_attn.q_proj.weight}
     * @param a      (r, in) fp32
     * @param b      (out, r) fp32
     * @param alpha  lora_alpha of this module; the scale is alpha / r
     */
    public record Module(String target, NDArray a, NDArray b, double alpha) {
        public Module {
            Objects.requireNonNull(target, "target");
            if (!target.endsWith(".weight")) {
                throw new IllegalArgumentException("LoRA target '" + target + "' is not a weight tensor name");
            }
            long[] as = a.getShape().getShape();
            long[] bs = b.getShape().getShape();
            if (as.length != 2 || bs.length != 2 || as[0] != bs[1] || as[0] <= 0) {
                throw new IllegalArgumentException("LoRA target '" + target + "': A " + Arrays.toString(as) + " and B "
                        + Arrays.toString(bs) + " are not (r, in) and (out, r) with one positive r");
            }
            if (a.getDataType() != DataType.FLOAT32 || b.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("LoRA target '" + target + "': A and B must be FLOAT32");
            }
            if (!Double.isFinite(alpha)) {
                throw new IllegalArgumentException("LoRA target '" + target + "': alpha " + alpha + " is not finite");
            }
        }

        public int rank() {
            return Math.toIntExact(a.getShape().get(0));
        }

        String module() {
            return PeftLoraAdapter.moduleOf(target);
        }
    }

    /**
     * Writes {@code dir}/adapter_config.json and {@code dir}/adapter_model.safetensors (replacing existing ones).
     *
     * @param baseModelNameOrPath recorded as base_model_name_or_path
     * @param modules             the LoRA targets
     * @param replacements        base tensor name -> its whole new value (FLOAT32), saved as modules_to_save
     */
    public static void write(Path dir, String baseModelNameOrPath, List<Module> modules,
            SequencedMap<String, NDArray> replacements) {
        if (modules.isEmpty() && replacements.isEmpty()) {
            throw new IllegalArgumentException("an adapter needs at least one LoRA target or replacement");
        }
        Map<String, Module> byTarget = new HashMap<>();
        for (Module m : modules) {
            if (byTarget.put(m.target(), m) != null) {
                throw new IllegalArgumentException("LoRA target '" + m.target() + "' appears twice");
            }
        }
        for (var r : replacements.entrySet()) {
            if (byTarget.containsKey(r.getKey())) {
                throw new IllegalArgumentException("tensor '" + r.getKey() + "' is both a LoRA target and a replacement");
            }
            if (r.getValue().getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("replacement '" + r.getKey() + "' must be FLOAT32");
            }
        }
        List<Module> sorted = new ArrayList<>(modules);
        sorted.sort(Comparator.comparing(Module::target));
        try {
            Files.createDirectories(dir);
            writeTensors(dir.resolve(PeftLoraAdapter.WEIGHTS), sorted, replacements);
            String json = JSON.writeValueAsString(config(baseModelNameOrPath, sorted, replacements)) + "\n";
            Path config = dir.resolve(PeftLoraAdapter.CONFIG);
            Path tmp = config.resolveSibling(config.getFileName() + ".tmp");
            Files.writeString(tmp, json, StandardCharsets.UTF_8);
            Files.move(tmp, config, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write adapter to " + dir, e);
        }
    }

    /** The adapter_config.json tree, keys sorted. */
    static Map<String, Object> config(String baseModelNameOrPath, List<Module> modules,
            SequencedMap<String, NDArray> replacements) {
        int r = modules.stream().mapToInt(Module::rank).max().orElse(8);
        double alpha = mostCommonAlpha(modules).orElse(r);
        Map<String, Object> rankPattern = new TreeMap<>();
        Map<String, Object> alphaPattern = new TreeMap<>();
        TreeSet<String> targetModules = new TreeSet<>();
        for (Module m : modules) {
            if (m.rank() != r) {
                rankPattern.put(m.module(), m.rank());
            }
            if (m.alpha() != alpha) {
                alphaPattern.put(m.module(), number(m.alpha()));
            }
            String module = m.module();
            targetModules.add(module.substring(module.lastIndexOf('.') + 1));
        }
        TreeSet<String> modulesToSave = new TreeSet<>();
        for (String target : replacements.keySet()) {
            modulesToSave.add(PeftLoraAdapter.moduleOf(target));
        }
        Map<String, Object> c = new TreeMap<>();
        c.put("alpha_pattern", alphaPattern);
        c.put("base_model_name_or_path", baseModelNameOrPath);
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        c.put("layers_pattern", null);
        c.put("layers_to_transform", null);
        c.put("lora_alpha", number(alpha));
        c.put("lora_dropout", 0.0);
        c.put("modules_to_save", modulesToSave.isEmpty() ? null : List.copyOf(modulesToSave));
        c.put("peft_type", "LORA");
        c.put("r", r);
        c.put("rank_pattern", rankPattern);
        c.put("revision", null);
        c.put("target_modules", List.copyOf(targetModules));
        c.put("task_type", "CAUSAL_LM");
        c.put("use_dora", false);
        c.put("use_rslora", false);
        return c;
    }

    /** The alpha most modules share (of equally common ones, the first in target order). */
    private static java.util.OptionalDouble mostCommonAlpha(List<Module> modules) {
        Map<Double, Integer> counts = new LinkedHashMap<>();
        for (Module m : modules) {
            counts.merge(m.alpha(), 1, Integer::sum);
        }
        Double best = null;
        for (var e : counts.entrySet()) {
            if (best == null || e.getValue() > counts.get(best)) {
                best = e.getKey();
            }
        }
        return best == null ? java.util.OptionalDouble.empty() : java.util.OptionalDouble.of(best);
    }

    /** An integral alpha as a JSON integer (PEFT types lora_alpha as int), else as a number. */
    private static Object number(double value) {
        return value == Math.rint(value) && Math.abs(value) < 1e15 ? (Object) (long) value : (Object) value;
    }

    private static void writeTensors(Path file, List<Module> modules, SequencedMap<String, NDArray> replacements) {
        SequencedMap<String, NDArray> tensors = new LinkedHashMap<>();
        for (Module m : modules) {
            String prefix = PeftLoraAdapter.PREFIX + m.module();
            tensors.put(prefix + ".lora_A.weight", m.a());
            tensors.put(prefix + ".lora_B.weight", m.b());
        }
        new TreeMap<>(replacements).forEach((target, value) -> tensors.put(PeftLoraAdapter.PREFIX + target, value));
        List<Entry> layout = new ArrayList<>();
        tensors.forEach((name, array) -> layout.add(new Entry(name, DType.F32, array.getShape().getShape())));
        NDArray any = tensors.firstEntry().getValue();
        try (NDManager scratch = any.getManager().newSubManager()) {
            SafetensorsStreamWriter.write(file, layout, Map.of("format", "pt"), entry -> {
                ByteBuffer source = Tensors.hostBytes(tensors.get(entry.name()), scratch);
                return chunk -> {
                    ByteBuffer slice = source.slice(source.position(), chunk.remaining());
                    chunk.put(slice);
                    source.position(source.position() + slice.capacity());
                };
            });
        }
    }
}
