package dev.realign.safety.prompts;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Loads prompt sets (AdvBench, HarmBench, XSTest CSVs and JSONL) into {@link LabeledPrompt}s. Every malformed
 * file is a {@link PromptSetException} naming the file and line: a sweep over a set with a broken line 4,812
 * must say so before it spends an hour generating.
 */
public final class PromptSets {
    private static final CsvMapper CSV = CsvMapper.builder().enable(CsvParser.Feature.WRAP_AS_ARRAY).build();

    private PromptSets() {}

    /** Loads {@code file}, its format told by the extension ({@code .jsonl}) or a CSV's header. */
    public static List<LabeledPrompt> load(Path file) {
        return load(file, null);
    }

    /**
     * Loads {@code file} as {@code format}, or as its extension and header say when {@code format} is null.
     *
     * @throws PromptSetException for a missing or unreadable file, a malformed line, or a set without prompts
     */
    public static List<LabeledPrompt> load(Path file, PromptSetFormat format) {
        PromptSetFormat chosen = format != null ? format : byExtension(file);
        List<LabeledPrompt> prompts = TextFiles.read(file, reader -> chosen == PromptSetFormat.JSONL
                ? readJsonl(file, reader) : readCsv(file, reader, chosen));
        if (prompts.isEmpty()) {
            throw new PromptSetException(file, 0, "holds no prompts");
        }
        return prompts;
    }

    /**
     * At most {@code n} items spread evenly over the list (every category of a sorted set stays represented); all
     * of them when {@code n} is 0 or the list is no longer.
     */
    public static <T> List<T> spread(List<T> items, int n) {
        if (n <= 0 || items.size() <= n) {
            return items;
        }
        return IntStream.range(0, n).mapToObj(i -> items.get((int) ((long) i * items.size() / n))).toList();
    }

    private static PromptSetFormat byExtension(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl")) {
            return PromptSetFormat.JSONL;
        }
        if (name.endsWith(".csv")) {
            return null; // told by the header
        }
        throw new PromptSetException(file, 0, "cannot tell the format from the file name: name it "
                + "(advbench, harmbench, xstest, jsonl) or use a .csv or .jsonl file");
    }

    private static List<LabeledPrompt> readJsonl(Path file, BufferedReader reader) throws IOException {
        List<LabeledPrompt> prompts = new ArrayList<>();
        for (JsonlObjects.Line line : JsonlObjects.read(file, reader)) {
            prompts.add(new LabeledPrompt(JsonlObjects.requiredText(file, line, "prompt"),
                    JsonlObjects.optionalText(file, line, "reference"), JsonlObjects.optionalText(file, line, "category"),
                    JsonlObjects.optionalText(file, line, "label"), line.number()));
        }
        return prompts;
    }

    private static List<LabeledPrompt> readCsv(Path file, Reader reader, PromptSetFormat format) throws IOException {
        List<LabeledPrompt> prompts = new ArrayList<>();
        try (MappingIterator<List<String>> rows = CSV.readerForListOf(String.class).readValues(reader)) {
            if (!rows.hasNextValue()) {
                throw new PromptSetException(file, 0, "is empty (a CSV needs a header line)");
            }
            List<String> header = rows.nextValue().stream().map(String::strip).toList();
            PromptSetFormat chosen = format != null ? format : PromptSetFormat.ofCsvHeader(file, header);
            Map<String, Integer> columns = columns(file, header, chosen);
            while (true) {
                int line = rows.getCurrentLocation().getLineNr(); // the row about to be read starts here
                List<String> row;
                try {
                    if (!rows.hasNextValue()) {
                        break;
                    }
                    row = rows.nextValue();
                } catch (IOException | RuntimeException e) {
                    throw csvError(file, line, e);
                }
                if (row.size() == 1 && row.getFirst().isBlank()) {
                    continue; // a blank line
                }
                if (row.size() != header.size()) {
                    throw new PromptSetException(file, line, "has " + row.size() + " fields, the header has "
                            + header.size() + " (" + String.join(",", header) + ")");
                }
                prompts.add(csvPrompt(file, line, chosen, columns, row));
            }
        } catch (JsonProcessingException e) { // in the header line
            throw csvError(file, 1, e);
        }
        return prompts;
    }

    /** Names the line the bad row starts on: the parser's own position is where it gave up, often at the end. */
    private static PromptSetException csvError(Path file, int line, Exception e) {
        String problem = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        return new PromptSetException(file, line, "malformed CSV: " + problem, e);
    }

    private static Map<String, Integer> columns(Path file, List<String> header, PromptSetFormat format) {
        Map<String, Integer> columns = new HashMap<>();
        for (int i = 0; i < header.size(); i++) {
            columns.putIfAbsent(header.get(i), i);
        }
        for (String required : format.requiredColumns()) {
            if (!columns.containsKey(required)) {
                throw new PromptSetException(file, 1, "the header " + header + " has no '" + required
                        + "' column, which the " + format.id() + " format needs");
            }
        }
        return columns;
    }

    private static LabeledPrompt csvPrompt(Path file, int line, PromptSetFormat format, Map<String, Integer> columns,
                                           List<String> row) {
        return switch (format) {
            case ADVBENCH -> new LabeledPrompt(required(file, line, columns, row, "goal"),
                    cell(columns, row, "target"), "", LabeledPrompt.UNSAFE, line);
            case HARMBENCH -> {
                String behavior = required(file, line, columns, row, "Behavior");
                String context = cell(columns, row, "ContextString");
                // HarmBench's contextual behaviors put the context first, then the request, split by a rule.
                String prompt = context.isBlank() ? behavior : context + "\n\n---\n\n" + behavior;
                yield new LabeledPrompt(prompt, "", cell(columns, row, "SemanticCategory"), LabeledPrompt.UNSAFE, line);
            }
            case XSTEST -> {
                String label = required(file, line, columns, row, "label").strip().toLowerCase(Locale.ROOT);
                if (!label.equals(LabeledPrompt.SAFE) && !label.equals(LabeledPrompt.UNSAFE)) {
                    throw new PromptSetException(file, line, "label must be 'safe' or 'unsafe', found '" + label + "'");
                }
                yield new LabeledPrompt(required(file, line, columns, row, "prompt"), "", cell(columns, row, "type"),
                        label, line);
            }
            case JSONL -> throw new IllegalStateException("JSONL is not a CSV format");
        };
    }

    private static String cell(Map<String, Integer> columns, List<String> row, String column) {
        Integer index = columns.get(column);
        return index == null ? "" : row.get(index);
    }

    private static String required(Path file, int line, Map<String, Integer> columns, List<String> row, String column) {
        String value = cell(columns, row, column);
        if (value.isBlank()) {
            throw new PromptSetException(file, line, "column '" + column + "' is empty");
        }
        return value;
    }
}
