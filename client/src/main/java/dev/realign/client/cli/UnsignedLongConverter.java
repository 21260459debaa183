package dev.realign.client.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** A uint64 (the seed), accepting the whole unsigned range; Java keeps it in a long's bits. */
final class UnsignedLongConverter implements ITypeConverter<Long> {

    @Override
    public Long convert(String value) {
        try {
            return Long.parseUnsignedLong(value.strip());
        } catch (NumberFormatException e) {
            throw new TypeConversionException(
                    "expected an integer from 0 to " + Long.toUnsignedString(-1L) + " but was '" + value + "'");
        }
    }
}
