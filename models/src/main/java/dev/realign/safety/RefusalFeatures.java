package dev.realign.safety;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The features the refusal head reads: the embedding of the response (as far as the encoder reads it)
 * followed by the embedding of its opening clause, 2 x 384 values.
 *
 * <p>Why two: a response's stance is set by its opening ("I can't help with that", "Sorry for the wait,
 * here is..."), while its mean-pooled embedding is dominated by topic. With the whole response alone, a
 * logistic head confused partial refusals that go on to give safe advice with compliant safety advice
 * (91-94% on the evaluation set); adding the opening clause separates them (96%). Measured in
 * README.md's "Refusal detectors".
 */
public final class RefusalFeatures {
    /** Names this feature layout in head files. */
    public static final String LAYOUT = "response+opening";
    public static final int DIMENSION = 2 * MiniLmEncoder.DIMENSION;

    /** A clause ends at . ! ? ; or : followed by white space or the end of the text. */
    private static final Pattern CLAUSE_END = Pattern.compile("[.!?;:](?=\\s|$)");

    private RefusalFeatures() {}

    /** The text up to and including its first clause end, or the whole (stripped) text when it has none. */
    public static String opening(String response) {
        String text = response.strip();
        Matcher matcher = CLAUSE_END.matcher(text);
        return matcher.find() ? text.substring(0, matcher.end()) : text;
    }

    /** One row of {@link #DIMENSION} features per response, in order; one encoder call for all of them. */
    static float[][] of(MiniLmEncoder encoder, List<String> responses) {
        // Responses of one clause are their own opening: encode each distinct text once.
        Map<String, Integer> index = new LinkedHashMap<>();
        int[] whole = new int[responses.size()];
        int[] open = new int[responses.size()];
        for (int i = 0; i < responses.size(); i++) {
            whole[i] = index.computeIfAbsent(responses.get(i), k -> index.size());
            open[i] = index.computeIfAbsent(opening(responses.get(i)), k -> index.size());
        }
        float[][] embeddings = encoder.embed(new ArrayList<>(index.keySet()));
        float[][] features = new float[responses.size()][DIMENSION];
        for (int i = 0; i < responses.size(); i++) {
            System.arraycopy(embeddings[whole[i]], 0, features[i], 0, MiniLmEncoder.DIMENSION);
            System.arraycopy(embeddings[open[i]], 0, features[i], MiniLmEncoder.DIMENSION, MiniLmEncoder.DIMENSION);
        }
        return features;
    }
}
