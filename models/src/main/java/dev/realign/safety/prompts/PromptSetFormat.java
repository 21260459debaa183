package dev.realign.safety.prompts;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The file formats of the prompt sets people evaluate refusals with. Each names the columns it needs; other
 * columns are allowed and ignored, so files with extra columns (XSTest v2's id, focus, note) load as they are.
 */
public enum PromptSetFormat {
    /** AdvBench's harmful_behaviors.csv (Zou et al. 2023): {@code goal,target}. */
    ADVBENCH("advbench", List.of("goal")),
    /**
     * HarmBench's behaviors CSV (Mazeika et al. 2024): {@code Behavior,FunctionalCategory,SemanticCategory,
     * Tags,ContextString,BehaviorID}. A contextual behavior is prompted with its context first, as HarmBench does.
     */
    HARMBENCH("harmbench", List.of("Behavior")),
    /** XSTest's prompts CSV (Röttger et al. 2024): {@code prompt,type,label} with label safe or unsafe. */
    XSTEST("xstest", List.of("prompt", "label")),
    /** One JSON object per line: {@code {"prompt": ..., "reference": ..., "category": ...}}, reference optional. */
    JSONL("jsonl", List.of("prompt"));

    private final String id;
    private final List<String> requiredColumns;

    PromptSetFormat(String id, List<String> requiredColumns) {
        this.id = id;
        this.requiredColumns = requiredColumns;
    }

    /** The name requests and the CLI use ("advbench", "harmbench", "xstest", "jsonl"). */
    public String id() {
        return id;
    }

    /** Columns (CSV) or fields (JSONL) a file of this format must have. */
    public List<String> requiredColumns() {
        return requiredColumns;
    }

    /** The format named {@code name}. */
    public static PromptSetFormat named(String name) {
        for (PromptSetFormat f : values()) {
            if (f.id.equals(name.toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown prompt set format '" + name
                + "'; known: advbench, harmbench, xstest, jsonl");
    }

    /**
     * The format of a CSV file by its header: the three CSV formats have distinct required columns, so the
     * header tells them apart without the caller naming one.
     */
    static PromptSetFormat ofCsvHeader(Path file, List<String> header) {
        for (PromptSetFormat f : List.of(ADVBENCH, HARMBENCH, XSTEST)) {
            if (header.containsAll(f.requiredColumns)) {
                return f;
            }
        }
        throw new PromptSetException(file, 1, "cannot tell the CSV format from its header " + header
                + ": expected AdvBench (goal,target), HarmBench (Behavior,...) or XSTest (prompt,type,label); "
                + "or name the format");
    }
}
