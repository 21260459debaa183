package dev.realign.tokenize;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A model's {@code tokenizer.json}, run by Hugging Face {@code tokenizers} through DJL (the jar bundles the
 * native library, so this works offline).
 *
 * <p>{@link #encode(String)} applies the tokenizer's post-processor, like {@code tokenizer(text)} in
 * transformers: a Llama-style tokenizer whose post-processor adds {@code <s>} gets it, the ByteLevel
 * tokenizers {@link ByteLevelBpeTrainer} writes get nothing added. Text rendered from a chat template already
 * holds its special tokens, so encode it with {@code encode(text, false)}. Special tokens written in the text
 * (such as {@code <|im_start|>}) always map to their ids. {@link #decode} skips nothing.
 *
 * <p>Thread-safe: the native tokenizer is immutable after loading. Truncation and padding are switched off
 * whatever the file says, so a prompt is never cut silently.
 */
public final class Tokenizer implements AutoCloseable {
    public static final String FILE_NAME = "tokenizer.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    static {
        // DJL "calls home" (EC2 metadata, then an S3 telemetry URL) when a tokenizer is created unless this is
        // set. Realign runs offline and must not make network calls on its own; an explicit setting wins.
        if (System.getenv("OPT_OUT_TRACKING") == null && System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    private final Path file;
    private final HuggingFaceTokenizer hf;
    private final Map<String, Integer> tokenIds;
    private final int vocabSize;
    private final AtomicReferenceArray<String> tokenTexts;

    private Tokenizer(Path file, HuggingFaceTokenizer hf, Map<String, Integer> tokenIds, int vocabSize) {
        this.file = file;
        this.hf = hf;
        this.tokenIds = tokenIds;
        this.vocabSize = vocabSize;
        this.tokenTexts = new AtomicReferenceArray<>(vocabSize);
    }

    /** Loads {@code modelDir/tokenizer.json}; a missing or unusable file is a {@link TokenizerException} naming it. */
    public static Tokenizer load(Path modelDir) {
        Path file = modelDir.resolve(FILE_NAME);
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TokenizerException(file + ": no tokenizer file (the model folder needs a Hugging Face tokenizer.json)");
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot read: " + e.getMessage(), e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(content);
        } catch (IOException e) {
            throw new TokenizerException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject() || !root.path("model").isObject()) {
            throw new TokenizerException(file + ": not a Hugging Face tokenizer (no \"model\" object)");
        }
        Map<String, Integer> ids = readVocabulary(file, root);
        int vocabSize = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(content),
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(file + ": the tokenizers library rejects it: " + e.getMessage(), e);
        }
        return new Tokenizer(file, hf, Map.copyOf(ids), vocabSize);
    }

    /**
     * Token string to id, from the model's vocabulary and the added tokens. BPE and WordPiece store the
     * vocabulary as an object, Unigram as a list of {@code [piece, score]} whose index is the id.
     */
    private static Map<String, Integer> readVocabulary(Path file, JsonNode root) {
        Map<String, Integer> ids = new HashMap<>();
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            for (var entry : vocab.properties()) {
                if (!entry.getValue().canConvertToInt()) {
                    throw new TokenizerException(file + ": vocabulary entry '" + entry.getKey() + "' has no integer id");
                }
                ids.put(entry.getKey(), entry.getValue().intValue());
            }
        } else if (vocab.isArray()) {
            for (int i = 0; i < vocab.size(); i++) {
                ids.put(vocab.get(i).path(0).asText(), i);
            }
        } else {
            throw new TokenizerException(file + ": \"model\" has no \"vocab\"");
        }
        for (JsonNode added : root.path("added_tokens")) {
            if (!added.path("id").canConvertToInt() || !added.path("content").isTextual()) {
                throw new TokenizerException(file + ": an entry of \"added_tokens\" lacks \"id\" or \"content\": " + added);
            }
            ids.put(added.get("content").asText(), added.get("id").intValue());
        }
        return ids;
    }

    /** Token ids of {@code text}, with whatever the post-processor adds (see the class comment). */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /** Token ids of {@code text}; {@code addSpecialTokens} runs the post-processor's BOS/EOS additions. */
    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = hf.encode(text, addSpecialTokens, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /**
     * The text of {@code ids}, special tokens included. Bytes that do not form complete UTF-8 characters
     * become U+FFFD (streaming should go through {@link IncrementalDetokenizer}); ids outside the
     * vocabulary (padded embedding rows) decode to nothing.
     */
    public String decode(int[] ids) {
        return decode(ids, 0, ids.length);
    }

    /** {@link #decode(int[])} of {@code ids[from, to)}. */
    public String decode(int[] ids, int from, int to) {
        long[] wide = new long[to - from];
        for (int i = from; i < to; i++) {
            wide[i - from] = ids[i];
        }
        return hf.decode(wide, false);
    }

    /**
     * The surface text of one token as shown next to its log-probability: the token decoded on its own, so a
     * token holding part of a multi-byte character shows U+FFFD. Cached per id.
     */
    public String tokenText(int id) {
        if (id < 0 || id >= vocabSize) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocabSize + ") of " + file);
        }
        String text = tokenTexts.get(id);
        if (text == null) {
            text = hf.decode(new long[] {id}, false);
            tokenTexts.set(id, text);
        }
        return text;
    }

    /** Number of token ids (largest id + 1, added tokens included). A model's embedding may have more rows. */
    public int vocabSize() {
        return vocabSize;
    }

    /** The id of a token given as the vocabulary spells it (e.g. {@code "<|im_end|>"} or {@code "Ġthe"}). */
    public OptionalInt tokenId(String token) {
        Integer id = tokenIds.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The {@code tokenizer.json} this was loaded from. */
    public Path file() {
        return file;
    }

    @Override
    public void close() {
        hf.close();
    }
}
