package dev.realign.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.model.ModelConfig;
import dev.realign.tokenize.ByteLevelAlphabet;
import dev.realign.tokenize.ChatTemplate;
import dev.realign.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A model folder's Hugging Face tokenizer as llama.cpp's {@code tokenizer.ggml.*} metadata.
 *
 * <p>Only byte-level BPE maps onto llama.cpp's {@code gpt2} tokenizer model exactly, and only with a
 * pre-tokenizer whose regex llama.cpp implements: GPT-2's ({@code ByteLevel} with {@code use_regex}, GGUF
 * {@code tokenizer.ggml.pre = "gpt-2"}), Qwen2's ({@code "qwen2"}) or Llama 3's ({@code "llama-bpe"}), the
 * latter two as a {@code Split} followed by a regex-free {@code ByteLevel}. Anything else (WordPiece, Unigram,
 * SentencePiece-style BPE with byte fallback, another split regex, a prefix space) is a
 * {@link GgufExportException} that names it: llama.cpp would load such a file but tokenize differently.
 *
 * <p>Token types follow llama.cpp's converter: model tokens are NORMAL, added tokens marked special are
 * CONTROL, other added tokens USER_DEFINED, and embedding rows past the tokenizer's vocabulary get UNUSED
 * {@code [PAD<id>]} placeholders. Whether BOS/EOS are added is read off the tokenizer itself (encoding with
 * and without its post-processor), so the file does what {@link Tokenizer#encode(String)} does.
 */
final class GgufTokenizer {
    static final int TYPE_NORMAL = 1;
    static final int TYPE_CONTROL = 3;
    static final int TYPE_USER_DEFINED = 4;
    static final int TYPE_UNUSED = 5;

    /** Hugging Face's GPT-2 split regex (what {@code ByteLevel} with {@code use_regex} applies). */
    static final String GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    /** Llama 3's split regex as its tokenizer.json states it; llama.cpp's {@code llama-bpe}. */
    static final String LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Qwen2's split regex (single digits); llama.cpp's {@code qwen2}. */
    static final String QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Token texts llama.cpp ends generation on whatever the metadata says (its end-of-generation list). */
    static final Set<String> LLAMA_CPP_EOG_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** llama.cpp's pre-tokenizer name and whether its BPE ignores merges for whole-vocabulary words. */
    record PreTokenizer(String name, boolean ignoreMerges) {}

    private final List<String> tokens;
    private final int[] tokenTypes;
    private final List<String> merges;
    private final PreTokenizer pre;
    private final OptionalInt bos;
    private final OptionalInt eos;
    private final OptionalInt pad;
    private final OptionalInt unk;
    private final boolean addBos;
    private final boolean addEos;
    private final Optional<String> chatTemplate;

    private GgufTokenizer(List<String> tokens, int[] tokenTypes, List<String> merges, PreTokenizer pre, OptionalInt bos,
                          OptionalInt eos, OptionalInt pad, OptionalInt unk, boolean addBos, boolean addEos,
                          Optional<String> chatTemplate) {
        this.tokens = tokens;
        this.tokenTypes = tokenTypes;
        this.merges = merges;
        this.pre = pre;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
        this.unk = unk;
        this.addBos = addBos;
        this.addEos = addEos;
        this.chatTemplate = chatTemplate;
    }

    /** Reads and checks the folder's tokenizer; {@code notes} collects what the user should know. */
    static GgufTokenizer read(Path modelDir, ModelConfig config, List<String> notes) {
        Path file = modelDir.resolve(Tokenizer.FILE_NAME);
        JsonNode root = readJson(file, true);
        String where = file.toString();
        JsonNode model = root.path("model");
        String type = model.path("type").asText("");
        if (!type.equals("BPE")) {
            throw new GgufExportException(where + ": tokenizer model type '" + type + "' cannot be exported to GGUF"
                    + " (only byte-level BPE maps exactly onto llama.cpp's tokenizers)");
        }
        if (model.path("byte_fallback").asBoolean(false)) {
            throw new GgufExportException(where + ": BPE with byte_fallback (a SentencePiece-style tokenizer, as in"
                    + " Llama 2 and Mistral) cannot be exported: only byte-level BPE is supported");
        }
        for (String field : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            if (!model.path(field).asText("").isEmpty()) {
                throw new GgufExportException(where + ": BPE " + field + " '" + model.path(field).asText()
                        + "' has no GGUF equivalent");
            }
        }
        if (model.hasNonNull("dropout") && model.path("dropout").asDouble() != 0) {
            throw new GgufExportException(where + ": BPE dropout " + model.path("dropout").asDouble()
                    + " has no GGUF equivalent");
        }
        checkNormalizer(root.path("normalizer"), where, notes);
        PreTokenizer pre = preTokenizer(root.path("pre_tokenizer"), where);
        boolean ignoreMerges = model.path("ignore_merges").asBoolean(false);
        if (ignoreMerges != pre.ignoreMerges()) {
            throw new GgufExportException(where + ": BPE ignore_merges=" + ignoreMerges + " differs from llama.cpp's"
                    + " pre-tokenizer '" + pre.name() + "' (which uses ignore_merges=" + pre.ignoreMerges() + ")");
        }
        JsonNode decoder = root.path("decoder");
        if (!decoder.isMissingNode() && !decoder.isNull() && !isType(decoder, "ByteLevel")) {
            throw new GgufExportException(where + ": decoder '" + decoder.path("type").asText() + "' is not ByteLevel;"
                    + " llama.cpp decodes BPE tokens byte-level");
        }

        int rows = config.vocabSize();
        String[] texts = new String[rows];
        int[] types = new int[rows];
        JsonNode vocab = model.path("vocab");
        if (!vocab.isObject()) {
            throw new GgufExportException(where + ": BPE model has no \"vocab\" object");
        }
        for (var entry : vocab.properties()) {
            String token = entry.getKey();
            int id = tokenId(entry.getValue(), rows, where, "vocabulary entry '" + token + "'");
            if (!isByteLevel(token)) {
                throw new GgufExportException(where + ": vocabulary entry '" + token + "' (id " + id + ") is not a"
                        + " byte-level string; the tokenizer is not byte-level BPE");
            }
            texts[id] = token;
            types[id] = TYPE_NORMAL;
        }
        Map<String, Integer> addedIds = new HashMap<>();
        for (JsonNode added : root.path("added_tokens")) {
            String content = added.path("content").asText(null);
            if (content == null || content.isEmpty()) {
                throw new GgufExportException(where + ": an added token has no content: " + added);
            }
            int id = tokenId(added.path("id"), rows, where, "added token '" + content + "'");
            texts[id] = content;
            types[id] = added.path("special").asBoolean(false) ? TYPE_CONTROL : TYPE_USER_DEFINED;
            addedIds.put(content, id);
            for (String flag : List.of("lstrip", "rstrip", "single_word")) {
                if (added.path(flag).asBoolean(false)) {
                    notes.add("added token '" + content + "' has " + flag + "=true, which GGUF cannot store:"
                            + " llama.cpp may tokenize the whitespace around it differently");
                }
            }
        }
        List<String> tokenList = new ArrayList<>(rows);
        int padded = 0;
        for (int id = 0; id < rows; id++) {
            if (texts[id] == null) {
                texts[id] = "[PAD" + id + "]";
                types[id] = TYPE_UNUSED;
                padded++;
            }
            tokenList.add(texts[id]);
        }
        if (padded > 0) {
            notes.add(padded + " embedding rows have no token in tokenizer.json; they are written as unused [PAD<id>] tokens");
        }
        List<String> mergeList = merges(model.path("merges"), where);

        Path configFile = modelDir.resolve(ChatTemplate.CONFIG_FILE);
        JsonNode tokenizerConfig = readJson(configFile, false);
        JsonNode generationConfig = readJson(modelDir.resolve("generation_config.json"), false);
        Map<String, Integer> ids = new HashMap<>(addedIds);
        for (int id = 0; id < rows; id++) {
            ids.putIfAbsent(texts[id], id);
        }
        OptionalInt bos = config.bosTokenId().isPresent() ? config.bosTokenId()
                : firstId(generationConfig.path("bos_token_id")).isPresent() ? firstId(generationConfig.path("bos_token_id"))
                : namedToken(tokenizerConfig.path("bos_token"), ids);
        List<Integer> eosIds = !config.eosTokenIds().isEmpty() ? config.eosTokenIds()
                : allIds(generationConfig.path("eos_token_id"));
        OptionalInt eos = !eosIds.isEmpty() ? OptionalInt.of(eosIds.getFirst()) : namedToken(tokenizerConfig.path("eos_token"), ids);
        OptionalInt pad = firstId(generationConfig.path("pad_token_id")).isPresent()
                ? firstId(generationConfig.path("pad_token_id")) : namedToken(tokenizerConfig.path("pad_token"), ids);
        OptionalInt unk = model.hasNonNull("unk_token") ? namedToken(model.path("unk_token"), ids) : OptionalInt.empty();
        for (String name : List.of("bos", "eos", "pad", "unk")) {
            OptionalInt id = switch (name) {
                case "bos" -> bos;
                case "eos" -> eos;
                case "pad" -> pad;
                default -> unk;
            };
            if (id.isPresent() && id.getAsInt() >= rows) {
                throw new GgufExportException(modelDir + ": " + name + " token id " + id.getAsInt()
                        + " is outside the vocabulary of " + rows);
            }
        }
        Set<Integer> endIds = new java.util.LinkedHashSet<>(eosIds);
        endIds.addAll(allIds(generationConfig.path("eos_token_id")));
        eos.ifPresent(endIds::remove);
        for (int id : endIds) {
            if (id < rows && !LLAMA_CPP_EOG_TEXTS.contains(texts[id])) {
                notes.add("end token " + id + " ('" + texts[id] + "') is not the GGUF eos token and its text is not one"
                        + " llama.cpp recognizes as end of generation: llama.cpp will not stop on it");
            }
        }

        boolean[] added = specialsAdded(modelDir, bos, eos);
        Optional<String> template = ChatTemplate.load(modelDir).map(ChatTemplate::template);
        return new GgufTokenizer(List.copyOf(tokenList), types, mergeList, pre, bos, eos, pad, unk, added[0], added[1],
                template);
    }

    /** Writes the {@code tokenizer.*} keys. */
    void apply(GgufWriter writer) {
        writer.putString("tokenizer.ggml.model", "gpt2");
        writer.putString("tokenizer.ggml.pre", pre.name());
        writer.putStringArray("tokenizer.ggml.tokens", tokens);
        writer.putInt32Array("tokenizer.ggml.token_type", tokenTypes);
        writer.putStringArray("tokenizer.ggml.merges", merges);
        bos.ifPresent(id -> writer.putUInt32("tokenizer.ggml.bos_token_id", id));
        eos.ifPresent(id -> writer.putUInt32("tokenizer.ggml.eos_token_id", id));
        unk.ifPresent(id -> writer.putUInt32("tokenizer.ggml.unknown_token_id", id));
        pad.ifPresent(id -> writer.putUInt32("tokenizer.ggml.padding_token_id", id));
        writer.putBool("tokenizer.ggml.add_bos_token", addBos);
        writer.putBool("tokenizer.ggml.add_eos_token", addEos);
        chatTemplate.ifPresent(t -> writer.putString("tokenizer.chat_template", t));
    }

    List<String> tokens() {
        return tokens;
    }

    String preTokenizerName() {
        return pre.name();
    }

    private static void checkNormalizer(JsonNode normalizer, String where, List<String> notes) {
        if (normalizer.isMissingNode() || normalizer.isNull()) {
            return;
        }
        if (isType(normalizer, "Sequence") && normalizer.path("normalizers").isArray()
                && normalizer.path("normalizers").isEmpty()) {
            return;
        }
        if (isType(normalizer, "NFC")) {
            // As llama.cpp's own converter does for Qwen2: llama.cpp does not normalize, which only matters for
            // text that is not already NFC.
            notes.add("tokenizer.json normalizes to NFC, which llama.cpp does not: text that is not in NFC may"
                    + " tokenize differently there");
            return;
        }
        throw new GgufExportException(where + ": normalizer '" + normalizer.path("type").asText()
                + "' has no llama.cpp equivalent");
    }

    private static PreTokenizer preTokenizer(JsonNode node, String where) {
        if (isType(node, "ByteLevel")) {
            requireNoPrefixSpace(node, where);
            if (!node.path("use_regex").asBoolean(true)) {
                throw new GgufExportException(where + ": a ByteLevel pre-tokenizer without use_regex splits nothing;"
                        + " llama.cpp has no such pre-tokenizer");
            }
            return new PreTokenizer("gpt-2", false);
        }
        if (isType(node, "Sequence") && node.path("pretokenizers").size() == 2) {
            JsonNode split = node.path("pretokenizers").get(0);
            JsonNode byteLevel = node.path("pretokenizers").get(1);
            if (isType(split, "Split") && isType(byteLevel, "ByteLevel")
                    && !byteLevel.path("use_regex").asBoolean(true)
                    && split.path("behavior").asText("").equals("Isolated")
                    && !split.path("invert").asBoolean(false)) {
                requireNoPrefixSpace(byteLevel, where);
                String regex = split.path("pattern").path("Regex").asText("");
                if (regex.equals(GPT2_REGEX)) {
                    return new PreTokenizer("gpt-2", false);
                }
                if (regex.equals(LLAMA3_REGEX)) {
                    return new PreTokenizer("llama-bpe", true);
                }
                if (regex.equals(QWEN2_REGEX)) {
                    return new PreTokenizer("qwen2", false);
                }
                throw new GgufExportException(where + ": pre-tokenizer split regex '" + regex + "' is not one this"
                        + " exporter maps to a llama.cpp pre-tokenizer (GPT-2's, Llama 3's or Qwen2's)");
            }
        }
        throw new GgufExportException(where + ": pre-tokenizer " + (node.isMissingNode() || node.isNull() ? "null"
                : "'" + node.path("type").asText() + "'") + " is not byte-level BPE pre-tokenization llama.cpp"
                + " implements (ByteLevel with use_regex, or Split with GPT-2's, Llama 3's or Qwen2's regex"
                + " followed by ByteLevel)");
    }

    private static void requireNoPrefixSpace(JsonNode byteLevel, String where) {
        if (byteLevel.path("add_prefix_space").asBoolean(false)) {
            throw new GgufExportException(where + ": ByteLevel add_prefix_space=true has no llama.cpp equivalent"
                    + " (llama.cpp's byte-level BPE never prepends a space)");
        }
    }

    private static List<String> merges(JsonNode node, String where) {
        if (!node.isArray()) {
            throw new GgufExportException(where + ": BPE model has no \"merges\" list");
        }
        List<String> merges = new ArrayList<>(node.size());
        for (JsonNode merge : node) {
            String left;
            String right;
            if (merge.isTextual()) {
                String text = merge.asText();
                int space = text.indexOf(' ', 1);
                if (space < 0) {
                    throw new GgufExportException(where + ": merge '" + text + "' is not two tokens separated by a space");
                }
                left = text.substring(0, space);
                right = text.substring(space + 1);
            } else if (merge.isArray() && merge.size() == 2) {
                left = merge.get(0).asText();
                right = merge.get(1).asText();
            } else {
                throw new GgufExportException(where + ": merge " + merge + " is neither \"a b\" nor [\"a\", \"b\"]");
            }
            if (left.isEmpty() || right.isEmpty() || left.contains(" ") || right.contains(" ")) {
                throw new GgufExportException(where + ": merge " + merge + " has a token with a space or an empty"
                        + " token, which GGUF's \"left right\" merges cannot express");
            }
            merges.add(left + " " + right);
        }
        return merges;
    }

    /**
     * {BOS added, EOS added} by the tokenizer's post-processor, read off the tokenizer itself: encoding with
     * and without it may differ only by a BOS in front and an EOS at the end.
     */
    private static boolean[] specialsAdded(Path modelDir, OptionalInt bos, OptionalInt eos) {
        try (Tokenizer tokenizer = Tokenizer.load(modelDir)) {
            String probe = "Hello world";
            int[] plain = tokenizer.encode(probe, false);
            int[] full = tokenizer.encode(probe, true);
            int start = indexOf(full, plain);
            if (start < 0) {
                throw new GgufExportException(tokenizer.file() + ": the post-processor changes the tokens of the text"
                        + " itself (" + Arrays.toString(plain) + " -> " + Arrays.toString(full) + "); GGUF can only add BOS/EOS");
            }
            int[] prefix = Arrays.copyOfRange(full, 0, start);
            int[] suffix = Arrays.copyOfRange(full, start + plain.length, full.length);
            boolean addBos = prefix.length == 1 && bos.isPresent() && prefix[0] == bos.getAsInt();
            boolean addEos = suffix.length == 1 && eos.isPresent() && suffix[0] == eos.getAsInt();
            if ((prefix.length > 0 && !addBos) || (suffix.length > 0 && !addEos)) {
                throw new GgufExportException(tokenizer.file() + ": the post-processor adds " + Arrays.toString(prefix)
                        + " before and " + Arrays.toString(suffix) + " after the text; GGUF can only express one BOS"
                        + " token (" + bos + ") in front and one EOS token (" + eos + ") at the end");
            }
            return new boolean[] {addBos, addEos};
        }
    }

    private static int indexOf(int[] haystack, int[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        return -1;
    }

    private static int tokenId(JsonNode node, int rows, String where, String what) {
        if (!node.canConvertToInt() || node.intValue() < 0) {
            throw new GgufExportException(where + ": " + what + " has no non-negative integer id");
        }
        int id = node.intValue();
        if (id >= rows) {
            throw new GgufExportException(where + ": " + what + " has id " + id + " but config.json's vocab_size is "
                    + rows + " (the embedding has no row for it)");
        }
        return id;
    }

    private static boolean isByteLevel(String token) {
        for (int i = 0; i < token.length(); i++) {
            if (ByteLevelAlphabet.byteOf(token.charAt(i)) < 0) {
                return false;
            }
        }
        return !token.isEmpty();
    }

    private static boolean isType(JsonNode node, String type) {
        return node != null && node.isObject() && node.path("type").asText("").equals(type);
    }

    private static OptionalInt firstId(JsonNode node) {
        List<Integer> ids = allIds(node);
        return ids.isEmpty() ? OptionalInt.empty() : OptionalInt.of(ids.getFirst());
    }

    private static List<Integer> allIds(JsonNode node) {
        List<Integer> ids = new ArrayList<>();
        if (node.canConvertToInt() && node.intValue() >= 0) {
            ids.add(node.intValue());
        } else if (node.isArray()) {
            for (JsonNode id : node) {
                if (id.canConvertToInt() && id.intValue() >= 0) {
                    ids.add(id.intValue());
                }
            }
        }
        return ids;
    }

    /** A token given as text ({@code "<|endoftext|>"}) or as an AddedToken object ({@code {"content": ...}}). */
    private static OptionalInt namedToken(JsonNode node, Map<String, Integer> ids) {
        String text = node.isTextual() ? node.asText() : node.path("content").asText(null);
        if (text == null) {
            return OptionalInt.empty();
        }
        Integer id = ids.get(text);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    private static JsonNode readJson(Path file, boolean required) {
        try {
            JsonNode node = JSON.readTree(Files.readString(file));
            if (node == null || !node.isObject()) {
                throw new GgufExportException(file + ": expected a JSON object");
            }
            return node;
        } catch (NoSuchFileException e) {
            if (required) {
                throw new GgufExportException(file + ": missing (the export reads the tokenizer from it)");
            }
            return JSON.createObjectNode();
        } catch (IOException e) {
            throw new GgufExportException(file + ": cannot read: " + e.getMessage(), e);
        }
    }
}
