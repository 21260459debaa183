package dev.realign.tokenize;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * A byte-level BPE as {@link ByteLevelBpeTrainer} trained it, ready to be written in Hugging Face layout.
 *
 * @param vocab  the BPE tokens in id order, as byte-level strings ({@link ByteLevelAlphabet}); ids 0..255 are
 *               the single bytes
 * @param merges the merge rules in priority order, each {@code "left right"} as {@code tokenizer.json} stores them
 */
public record TrainedTokenizer(List<String> vocab, List<String> merges) {
    public TrainedTokenizer {
        vocab = List.copyOf(vocab);
        merges = List.copyOf(merges);
    }

    /** BPE tokens (bytes and merges); the special tokens come right after. */
    public int bpeVocabSize() {
        return vocab.size();
    }

    /** All token ids including the special tokens: the smallest model vocabulary that fits. */
    public int vocabSize() {
        return vocab.size() + ByteLevelBpeTrainer.SPECIAL_TOKENS.size();
    }

    /** The id of one of {@link ByteLevelBpeTrainer#SPECIAL_TOKENS}. */
    public int specialTokenId(String token) {
        int index = ByteLevelBpeTrainer.SPECIAL_TOKENS.indexOf(token);
        if (index < 0) {
            throw new IllegalArgumentException("not a special token: " + token);
        }
        return vocab.size() + index;
    }

    public int endOfTextId() {
        return specialTokenId(ByteLevelBpeTrainer.END_OF_TEXT);
    }

    public int imStartId() {
        return specialTokenId(ByteLevelBpeTrainer.IM_START);
    }

    public int imEndId() {
        return specialTokenId(ByteLevelBpeTrainer.IM_END);
    }

    /** {@code <|endoftext|>}, as for GPT-2 and Qwen. */
    public int bosTokenId() {
        return endOfTextId();
    }

    /** {@code <|endoftext|>}; chat generation should also stop on {@link #imEndId()}. */
    public int eosTokenId() {
        return endOfTextId();
    }

    /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir} (created if missing). */
    public void writeTo(Path dir) {
        writeTo(dir, 1 << 20);
    }

    /** As {@link #writeTo(Path)}, with the {@code model_max_length} that {@code tokenizer_config.json} declares. */
    public void writeTo(Path dir, int modelMaxLength) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(tokenizerJson()) + "\n");
            Files.writeString(dir.resolve("tokenizer_config.json"),
                    json.writeValueAsString(tokenizerConfigJson(modelMaxLength)) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write tokenizer files to " + dir, e);
        }
    }

    /** The Hugging Face {@code tokenizers} serialization: a BPE model with ByteLevel pre-tokenizer and decoder. */
    SequencedMap<String, Object> tokenizerJson() {
        SequencedMap<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        List<Object> added = new ArrayList<>();
        for (String token : ByteLevelBpeTrainer.SPECIAL_TOKENS) {
            SequencedMap<String, Object> entry = new LinkedHashMap<>();
            entry.put("id", specialTokenId(token));
            entry.put("content", token);
            entry.putAll(addedTokenFlags());
            added.add(entry);
        }
        root.put("added_tokens", added);
        root.put("normalizer", null);
        // add_prefix_space false: " Hello" and "Hello" stay different tokens and decode(encode(s)) == s.
        root.put("pre_tokenizer", byteLevel(false, true));
        // The ByteLevel post-processor only adjusts offsets; it adds no BOS/EOS, so encode adds no ids.
        root.put("post_processor", byteLevel(false, false));
        root.put("decoder", byteLevel(false, true));
        SequencedMap<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", null);
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        SequencedMap<String, Integer> vocabMap = new LinkedHashMap<>();
        for (int id = 0; id < vocab.size(); id++) {
            vocabMap.put(vocab.get(id), id);
        }
        model.put("vocab", vocabMap);
        model.put("merges", merges);
        root.put("model", model);
        return root;
    }

    /** What {@code transformers} writes for a Qwen2-style fast tokenizer, with a ChatML template. */
    SequencedMap<String, Object> tokenizerConfigJson(int modelMaxLength) {
        SequencedMap<String, Object> root = new LinkedHashMap<>();
        root.put("add_bos_token", false);
        root.put("add_eos_token", false);
        root.put("add_prefix_space", false);
        SequencedMap<String, Object> decoderTable = new LinkedHashMap<>();
        for (String token : ByteLevelBpeTrainer.SPECIAL_TOKENS) {
            SequencedMap<String, Object> entry = new LinkedHashMap<>();
            entry.put("content", token);
            entry.putAll(addedTokenFlags());
            decoderTable.put(String.valueOf(specialTokenId(token)), entry);
        }
        root.put("added_tokens_decoder", decoderTable);
        root.put("additional_special_tokens", List.of(ByteLevelBpeTrainer.IM_START, ByteLevelBpeTrainer.IM_END));
        root.put("bos_token", ByteLevelBpeTrainer.END_OF_TEXT);
        root.put("eos_token", ByteLevelBpeTrainer.END_OF_TEXT);
        root.put("pad_token", ByteLevelBpeTrainer.END_OF_TEXT);
        root.put("unk_token", null);
        root.put("chat_template", ByteLevelBpeTrainer.CHATML_TEMPLATE);
        root.put("clean_up_tokenization_spaces", false);
        root.put("errors", "replace");
        root.put("model_max_length", modelMaxLength);
        root.put("split_special_tokens", false);
        root.put("tokenizer_class", "PreTrainedTokenizerFast");
        return root;
    }

    private static Map<String, Object> byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        SequencedMap<String, Object> m = new LinkedHashMap<>();
        m.put("type", "ByteLevel");
        m.put("add_prefix_space", addPrefixSpace);
        m.put("trim_offsets", trimOffsets);
        m.put("use_regex", true);
        return m;
    }

    /** Special tokens match verbatim (not normalized, no stripping) wherever they appear in text. */
    private static SequencedMap<String, Object> addedTokenFlags() {
        SequencedMap<String, Object> m = new LinkedHashMap<>();
        m.put("single_word", false);
        m.put("lstrip", false);
        m.put("rstrip", false);
        m.put("normalized", false);
        m.put("special", true);
        return m;
    }
}
