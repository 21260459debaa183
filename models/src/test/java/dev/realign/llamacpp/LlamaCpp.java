package dev.realign.llamacpp;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import de.kherud.llama.args.Sampler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * llama.cpp (b4916, through {@code de.kherud:llama}) as the reference engine of the cross-engine tests and the
 * speed comparison. Wraps the binding's quirks (DESIGN §7):
 * <ul>
 *   <li>it deletes every {@code llama*} file in its temp folder on first load, so the folder is always a
 *       private one ({@code -Dde.kherud.llama.tmpdir}, set by the build; a fallback under target/ otherwise);</li>
 *   <li>token-id prompts and a per-request LoRA scale are only reachable through the package-private raw JSON
 *       map of {@code InferenceParameters}, reached here by reflection;</li>
 *   <li>asking for probabilities aborts the JVM, so it only ever returns text: greedy continuations are compared
 *       as text rendered the way llama.cpp renders tokens (see {@code GreedyParity}).</li>
 * </ul>
 * Sampling is pure greedy: only the temperature sampler (temperature 0 keeps the arg-max), no penalties,
 * prompt caching off so every request is computed from scratch.
 */
public final class LlamaCpp implements AutoCloseable {
    private static final String TMPDIR = "de.kherud.llama.tmpdir";
    private static final Field RAW_PARAMETERS;

    static {
        String dir = System.getProperty(TMPDIR);
        if (dir == null) {
            dir = Path.of("target", "llama-tmp").toAbsolutePath().toString();
            System.setProperty(TMPDIR, dir);
        }
        try {
            Files.createDirectories(Path.of(dir));
            RAW_PARAMETERS = Class.forName("de.kherud.llama.JsonParameters").getDeclaredField("parameters");
            RAW_PARAMETERS.setAccessible(true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final LlamaModel model;

    private LlamaCpp(LlamaModel model) {
        this.model = model;
    }

    /**
     * Loads a GGUF model.
     *
     * @param contextSize KV cache positions (prompt + generated tokens must fit: llama.cpp would shift silently)
     * @param threads     CPU threads for generation and prompt processing
     * @param f32Cache    keys and values in fp32 (parity) rather than llama.cpp's default fp16 (speed)
     * @param lora        LoRA adapters to load (applied at scale 1 unless a request says otherwise)
     */
    public static LlamaCpp load(Path gguf, int contextSize, int threads, boolean f32Cache, Path... lora) {
        ModelParameters params = new ModelParameters()
                .setModel(gguf.toString())
                .setCtxSize(contextSize)
                .setThreads(threads)
                .setThreadsBatch(threads)
                .setGpuLayers(0)
                .disableLog();
        if (f32Cache) {
            params.setCacheTypeK(CacheType.F32).setCacheTypeV(CacheType.F32);
        }
        for (Path adapter : lora) {
            params.addLoraAdapter(adapter.toString());
        }
        return new LlamaCpp(new LlamaModel(params));
    }

    /** llama.cpp's tokenization: special tokens in the text are parsed, nothing (BOS) is added. */
    public int[] encode(String text) {
        return model.encode(text);
    }

    /** The greedy continuation of a token-id prompt as text (control tokens render as nothing). */
    public String greedy(int[] prompt, int maxTokens) {
        return complete(request(prompt, maxTokens, false));
    }

    /** As {@link #greedy(int[], int)} with the first loaded LoRA adapter at {@code scale}. */
    public String greedy(int[] prompt, int maxTokens, float loraScale) {
        InferenceParameters p = request(prompt, maxTokens, false);
        raw(p).put("lora", "[{\"id\": 0, \"scale\": " + loraScale + "}]");
        return complete(p);
    }

    /** Generates exactly {@code tokens} tokens (end tokens ignored), for timing; returns the text. */
    public String generateIgnoringEnd(int[] prompt, int tokens) {
        return complete(request(prompt, tokens, true));
    }

    private String complete(InferenceParameters p) {
        return model.complete(p);
    }

    private static InferenceParameters request(int[] prompt, int maxTokens, boolean ignoreEos) {
        InferenceParameters p = new InferenceParameters("")
                .setNPredict(maxTokens)
                .setTemperature(0)
                .setSamplers(Sampler.TEMPERATURE)
                .setRepeatPenalty(1)
                .setFrequencyPenalty(0)
                .setPresencePenalty(0)
                .setCachePrompt(false)
                .setIgnoreEos(ignoreEos)
                .setSeed(0);
        raw(p).put("prompt", Arrays.stream(prompt).mapToObj(Integer::toString)
                .collect(Collectors.joining(", ", "[", "]")));
        return p;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> raw(InferenceParameters p) {
        try {
            return (Map<String, String>) RAW_PARAMETERS.get(p);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
