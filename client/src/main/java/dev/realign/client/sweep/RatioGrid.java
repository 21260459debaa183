package dev.realign.client.sweep;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/**
 * The merge ratios a sweep visits, parsed from a list ({@code 0,0.5,1}) or an inclusive range
 * ({@code 0:1:0.1}). A range is stepped in decimal arithmetic, so {@code 0:1:0.1} yields 0.3, the double
 * nearest to "0.3", not the 0.30000000000000004 that adding 0.1 three times gives.
 */
public record RatioGrid(List<Double> values) {

    /** A range of more steps than this is surely a typo (a step of 0.0001 for 0.1). */
    static final int MAX_RATIOS = 1000;

    public RatioGrid {
        values = List.copyOf(values);
        if (values.isEmpty()) {
            throw new IllegalArgumentException("ratios: at least one ratio is needed");
        }
    }

    /** @throws IllegalArgumentException naming the part of {@code text} that is not a ratio, list or range */
    public static RatioGrid parse(String text) {
        String spec = text.strip();
        if (spec.contains(":")) {
            return range(spec);
        }
        var values = new ArrayList<Double>();
        for (String part : spec.split(",", -1)) {
            values.add(number(part, spec).doubleValue());
        }
        return new RatioGrid(values);
    }

    private static RatioGrid range(String spec) {
        String[] parts = spec.split(":", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("ratios: a range is START:STOP:STEP (inclusive), got '" + spec + "'");
        }
        BigDecimal start = number(parts[0], spec);
        BigDecimal stop = number(parts[1], spec);
        BigDecimal step = number(parts[2], spec);
        if (step.signum() <= 0) {
            throw new IllegalArgumentException("ratios: the step of '" + spec + "' must be positive");
        }
        if (start.compareTo(stop) > 0) {
            throw new IllegalArgumentException("ratios: the range '" + spec + "' starts after it stops");
        }
        var values = new ArrayList<Double>();
        for (BigDecimal r = start; r.compareTo(stop) <= 0; r = r.add(step)) {
            if (values.size() == MAX_RATIOS) {
                throw new IllegalArgumentException("ratios: '" + spec + "' has more than " + MAX_RATIOS + " ratios");
            }
            values.add(r.doubleValue());
        }
        return new RatioGrid(values);
    }

    private static BigDecimal number(String part, String spec) {
        try {
            return new BigDecimal(part.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("ratios: '" + part.strip() + "' in '" + spec + "' is not a number");
        }
    }

    /** A ratio as people write it: 0.3, 1, 0.05 (the shortest decimal that reads back as the same double). */
    public static String format(double ratio) {
        String plain = BigDecimal.valueOf(ratio).stripTrailingZeros().toPlainString();
        return plain.equals("-0") ? "0" : plain;
    }
}
