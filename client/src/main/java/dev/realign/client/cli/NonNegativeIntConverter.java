package dev.realign.client.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * An integer >= 0, for the API's uint32 fields: a negative value would silently wrap around to a huge
 * unsigned one on the wire.
 */
final class NonNegativeIntConverter implements ITypeConverter<Integer> {

    @Override
    public Integer convert(String value) {
        try {
            int parsed = Integer.parseInt(value.strip());
            if (parsed >= 0) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below, with the accepted range
        }
        throw new TypeConversionException("expected an integer >= 0 but was '" + value + "'");
    }
}
