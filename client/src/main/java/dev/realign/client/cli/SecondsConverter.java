package dev.realign.client.cli;

import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** A positive number of seconds, fractions allowed ({@code 0.5}), as a Duration. */
final class SecondsConverter implements ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        double seconds;
        try {
            seconds = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw invalid(value);
        }
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw invalid(value);
        }
        return Duration.ofNanos(Math.round(seconds * 1e9));
    }

    private static TypeConversionException invalid(String value) {
        return new TypeConversionException("expected a positive number of seconds but was '" + value + "'");
    }
}
