package dev.realign.llamacpp;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.checkpoint.SafetensorsFile;
import dev.realign.generate.DecodeStep;
import dev.realign.generate.SamplingParams;
import dev.realign.generate.Sequence;
import dev.realign.generate.StepOutput;
import dev.realign.generate.TextStream;
import dev.realign.model.KvCache;
import dev.realign.model.LoadedModel;
import dev.realign.model.Weights;
import dev.realign.tokenize.ByteLevelAlphabet;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Our side of the cross-engine comparisons: greedy continuations through the serving path ({@link Sequence} +
 * {@link DecodeStep} on a {@link LoadedModel}'s forward function, with any {@link Weights} view), their
 * decision margins, the text llama.cpp would print for the same tokens, and LoRA merging for the comparison
 * with llama.cpp's adapter path.
 *
 * <p><b>Why margins.</b> Two correct fp32 engines differ in rounding (summation order, llama.cpp's float RoPE
 * angles computed by repeated multiplication). Ours stays within about 1e-6 of a double-precision reference
 * on these models (EngineParityTest); llama.cpp cannot be asked for logits through the binding, so its share is
 * an estimate of the same order, up to about 1e-5. Where the top two logits are closer than that, either engine
 * may legitimately pick either token and the continuations diverge from there on. Every greedy comparison
 * therefore reports the smallest top-1/top-2 log-probability gap along our path, and tests only use prompts and
 * seeds whose smallest gap is comfortably larger ({@link #MIN_MARGIN}).
 */
public final class GreedyParity {
    /** Smallest accepted top-1/top-2 gap: 100x the estimated fp32 disagreement of the engines. */
    public static final double MIN_MARGIN = 1e-3;

    private GreedyParity() {}

    /**
     * A greedy continuation of ours.
     *
     * @param tokens        generated ids, the end token included if one ended it
     * @param margins       top-1 minus top-2 log-probability at each step
     * @param llamaCppText  the text llama.cpp prints for these tokens
     */
    public record Continuation(int[] tokens, double[] margins, String llamaCppText) {
        public double minMargin() {
            double min = Double.POSITIVE_INFINITY;
            for (double m : margins) {
                min = Math.min(min, m);
            }
            return min;
        }

        public int minMarginStep() {
            int at = 0;
            for (int i = 1; i < margins.length; i++) {
                if (margins[i] < margins[at]) {
                    at = i;
                }
            }
            return at;
        }
    }

    /** Greedy generation of up to {@code maxTokens} through the serving path, stopping at the model's end tokens. */
    public static Continuation greedy(LoadedModel model, Weights weights, int[] prompt, int maxTokens) {
        DecodeStep step = new DecodeStep(model.model());
        SamplingParams params = new SamplingParams(0, 1, 0, 0, maxTokens, List.of(), 1, 2);
        List<Integer> tokens = new ArrayList<>();
        List<Double> margins = new ArrayList<>();
        try (KvCache cache = new KvCache(model.config(), prompt.length + maxTokens + 1, model.manager());
             Sequence sequence = new Sequence(prompt, cache, params, TextStream.NONE, model.endTokens())) {
            while (!sequence.finished()) {
                StepOutput out = step.run(weights, List.of(sequence), model.manager()).getFirst();
                tokens.add(out.tokenId());
                var top = out.logprobs().top();
                margins.add((double) top.get(0).logprob() - top.get(1).logprob());
            }
        }
        int[] ids = tokens.stream().mapToInt(Integer::intValue).toArray();
        return new Continuation(ids, margins.stream().mapToDouble(Double::doubleValue).toArray(),
                TokenTable.of(model.directory()).render(ids));
    }

    /**
     * How llama.cpp turns tokens into text without special tokens: byte-level tokens become their bytes,
     * non-special added tokens their text, special (control) tokens and unused padding rows nothing; the bytes
     * are decoded as UTF-8 once at the end, as the binding does. Read independently from tokenizer.json.
     */
    public static final class TokenTable {
        private final Map<Integer, byte[]> bytes;

        private TokenTable(Map<Integer, byte[]> bytes) {
            this.bytes = bytes;
        }

        public static TokenTable of(Path modelDir) {
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(Files.readString(modelDir.resolve("tokenizer.json")));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Map<Integer, byte[]> bytes = new HashMap<>();
            for (var e : root.path("model").path("vocab").properties()) {
                bytes.put(e.getValue().intValue(), ByteLevelAlphabet.decode(e.getKey()));
            }
            for (JsonNode added : root.path("added_tokens")) {
                bytes.put(added.path("id").intValue(), added.path("special").asBoolean()
                        ? new byte[0] : added.path("content").asText().getBytes(StandardCharsets.UTF_8));
            }
            return new TokenTable(bytes);
        }

        public String render(int[] tokens) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (int id : tokens) {
                out.writeBytes(bytes.getOrDefault(id, new byte[0]));
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    /**
     * The weights our server serves for a LINEAR profile of this PEFT adapter at {@code ratio}: the adapter
     * loaded by the production loader and applied unmerged (the fast path), its factors owned by {@code manager}.
     */
    public static Weights servedLora(Weights base, Path adapterDir, double ratio, NDManager manager) {
        var adapter = dev.realign.merge.Adapters.load("parity", adapterDir, base.config(), base, manager);
        return dev.realign.merge.ProfileMerger.unmerged(base, java.util.List.of(adapter), new double[] {ratio});
    }

    /**
     * The LoRA adapter in {@code adapterDir} merged into {@code base} at {@code ratio}: each adapted weight W
     * becomes W + ratio * (alpha / r) * B @ A, computed in fp32 in {@code manager} (which owns the new tensors).
     * Only plain LoRA (no rsLoRA, rank or alpha patterns), as the tests write it.
     */
    public static Weights mergeLora(Weights base, Path adapterDir, double ratio, NDManager manager) {
        JsonNode config;
        try {
            config = new ObjectMapper().readTree(Files.readString(adapterDir.resolve("adapter_config.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        double scale = config.path("lora_alpha").asDouble() / config.path("r").asInt();
        Map<String, NDArray> overrides = new LinkedHashMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(adapterDir.resolve("adapter_model.safetensors"))) {
            for (String name : file.names()) {
                if (!name.endsWith(".lora_A.weight")) {
                    continue;
                }
                String module = name.substring("base_model.model.".length(), name.length() - ".lora_A.weight".length());
                String bName = name.replace(".lora_A.weight", ".lora_B.weight");
                NDArray a = manager.create(file.floats(name), new Shape(file.info(name).shape()));
                NDArray b = manager.create(file.floats(bName), new Shape(file.info(bName).shape()));
                NDArray w = base.tensor(module + ".weight");
                NDArray wide = w.toType(DataType.FLOAT32, true);
                wide.attach(manager);
                NDArray merged = wide.add(b.matMul(a).mul((float) (ratio * scale)));
                overrides.put(module + ".weight", merged.toType(w.getDataType(), false));
            }
        }
        return base.withOverrides(overrides);
    }
}
