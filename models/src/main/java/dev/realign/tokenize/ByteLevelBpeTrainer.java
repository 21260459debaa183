package dev.realign.tokenize;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Trains a GPT-2 style byte-level BPE: text is split into pre-tokens with GPT-2's regex (what Hugging Face's
 * {@code ByteLevel} pre-tokenizer does with {@code use_regex: true}), each pre-token becomes its UTF-8 bytes,
 * and the most frequent adjacent pair is merged until the vocabulary is full. The 256 byte tokens are always
 * in the vocabulary (ids 0..255, id = byte value), so any UTF-8 text encodes.
 *
 * <p>Deterministic: ties between equally frequent pairs go to the pair whose left token, then right token,
 * sorts first as a string, so the same corpus always gives the same vocabulary and merges.
 *
 * <p>Pair counts are recomputed from the unique pre-tokens on every merge rather than updated incrementally:
 * the corpora this trains on (synthetic models, tests) are a few hundred sentences and a few hundred merges,
 * where the simple loop takes milliseconds and is obviously right.
 */
public final class ByteLevelBpeTrainer {
    /** Document separator; also the beginning- and end-of-sequence token of the tokenizers written here. */
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** ChatML turn opener. */
    public static final String IM_START = "<|im_start|>";
    /** ChatML turn closer; chat generation stops on it. */
    public static final String IM_END = "<|im_end|>";
    /** The special tokens in id order; their ids follow the BPE vocabulary. */
    public static final List<String> SPECIAL_TOKENS = List.of(END_OF_TEXT, IM_START, IM_END);

    /**
     * ChatML as Qwen writes it: {@code <|im_start|>role\ncontent<|im_end|>\n} per message, then
     * {@code <|im_start|>assistant\n} when a generation prompt is asked for.
     */
    public static final String CHATML_TEMPLATE = """
            {%- for message in messages -%}
            {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}
            {{- '<|im_start|>assistant\\n' -}}
            {%- endif -%}""";

    /** GPT-2's pre-tokenization regex; Unicode classes so that {@code \s} also matches U+3000 etc. as in Rust. */
    static final Pattern GPT2_SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** Pairs seen fewer times than this are not merged: they would only memorize single occurrences. */
    static final int MIN_PAIR_FREQUENCY = 2;

    private static final Pattern SPECIAL_SPLIT = Pattern.compile(
            String.join("|", SPECIAL_TOKENS.stream().map(Pattern::quote).toList()));

    private ByteLevelBpeTrainer() {}

    /**
     * Trains on {@code corpus} until the BPE vocabulary (256 bytes + merges, special tokens not counted) has
     * {@code vocabSize} tokens, or no pair occurs at least twice any more (then the vocabulary is smaller).
     */
    public static TrainedTokenizer train(List<String> corpus, int vocabSize) {
        if (vocabSize < 256) {
            throw new IllegalArgumentException("vocabSize must be at least 256 (the byte tokens), got " + vocabSize);
        }
        List<String> vocab = new ArrayList<>(vocabSize);
        for (int b = 0; b < 256; b++) {
            vocab.add(String.valueOf(ByteLevelAlphabet.charOf(b)));
        }
        List<Word> words = preTokenize(corpus);
        List<String> merges = new ArrayList<>();
        while (vocab.size() < vocabSize) {
            Map<Long, Long> pairCounts = countPairs(words);
            long best = -1;
            long bestCount = 0;
            for (var entry : pairCounts.entrySet()) {
                long count = entry.getValue();
                if (count > bestCount || (count == bestCount && comparePairs(entry.getKey(), best, vocab) < 0)) {
                    best = entry.getKey();
                    bestCount = count;
                }
            }
            if (bestCount < MIN_PAIR_FREQUENCY) {
                break;
            }
            int left = (int) (best >>> 32);
            int right = (int) best;
            int merged = vocab.size();
            vocab.add(vocab.get(left) + vocab.get(right));
            merges.add(vocab.get(left) + " " + vocab.get(right));
            for (Word word : words) {
                word.merge(left, right, merged);
            }
        }
        return new TrainedTokenizer(vocab, merges);
    }

    /** Unique pre-tokens with their counts, as byte-id sequences; special-token text is never learned from. */
    static List<Word> preTokenize(List<String> corpus) {
        Map<String, Integer> counts = new TreeMap<>();
        for (String text : corpus) {
            for (String piece : SPECIAL_SPLIT.split(text)) {
                Matcher m = GPT2_SPLIT.matcher(piece);
                while (m.find()) {
                    counts.merge(m.group(), 1, Integer::sum);
                }
            }
        }
        List<Word> words = new ArrayList<>(counts.size());
        counts.forEach((text, count) -> {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            int[] symbols = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                symbols[i] = bytes[i] & 0xff;
            }
            words.add(new Word(symbols, count));
        });
        return words;
    }

    private static Map<Long, Long> countPairs(List<Word> words) {
        Map<Long, Long> counts = new HashMap<>();
        for (Word word : words) {
            for (int i = 0; i + 1 < word.length; i++) {
                counts.merge(pair(word.symbols[i], word.symbols[i + 1]), (long) word.count, Long::sum);
            }
        }
        return counts;
    }

    private static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xffffffffL);
    }

    private static int comparePairs(long a, long b, List<String> vocab) {
        if (b < 0) {
            return -1;
        }
        int byLeft = vocab.get((int) (a >>> 32)).compareTo(vocab.get((int) (b >>> 32)));
        return byLeft != 0 ? byLeft : vocab.get((int) a).compareTo(vocab.get((int) b));
    }

    /** One distinct pre-token: its current symbols (token ids) and how often it occurs. */
    static final class Word {
        final int[] symbols;
        int length;
        final int count;

        Word(int[] symbols, int count) {
            this.symbols = symbols;
            this.length = symbols.length;
            this.count = count;
        }

        /** Replaces every non-overlapping (left, right) occurrence, left to right, by {@code merged}. */
        void merge(int left, int right, int merged) {
            int out = 0;
            for (int i = 0; i < length; i++) {
                if (i + 1 < length && symbols[i] == left && symbols[i + 1] == right) {
                    symbols[out++] = merged;
                    i++;
                } else {
                    symbols[out++] = symbols[i];
                }
            }
            length = out;
        }
    }
}
