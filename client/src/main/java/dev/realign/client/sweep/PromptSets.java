package dev.realign.client.sweep;

import dev.realign.api.v1.PromptSet;
import java.util.regex.Pattern;

/** Builds a {@link PromptSet} from what a user types: a builtin set's name or a file path on the server. */
public final class PromptSets {

    /** "harmful.jsonl", "sets/x": a separator or a file extension means a path; "demo-harmful" is a name. */
    private static final Pattern EXTENSION = Pattern.compile(".*\\.[A-Za-z0-9]+$");

    private PromptSets() {
    }

    /**
     * @param value  a builtin name, or a path (one containing '/' or '\', or ending in an extension) that the
     *               server reads under the tenant's allowed roots
     * @param format "advbench", "harmbench", "xstest", "jsonl"; null or empty = from the extension
     * @param limit  prompts at most; 0 = all
     */
    public static PromptSet of(String value, String format, int limit) {
        String source = value.strip();
        if (source.isEmpty()) {
            throw new IllegalArgumentException("a prompt set must be a builtin name or a file path, got an empty string");
        }
        var set = PromptSet.newBuilder().setLimit(limit);
        if (looksLikePath(source)) {
            set.setPath(source);
        } else {
            set.setBuiltin(source);
        }
        if (format != null && !format.isBlank()) {
            set.setFormat(format.strip());
        }
        return set.build();
    }

    static boolean looksLikePath(String value) {
        return value.indexOf('/') >= 0 || value.indexOf('\\') >= 0 || EXTENSION.matcher(value).matches();
    }
}
