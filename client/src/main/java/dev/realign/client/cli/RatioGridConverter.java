package dev.realign.client.cli;

import dev.realign.client.sweep.RatioGrid;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --ratios}: a list {@code 0,0.5,1} or an inclusive range {@code 0:1:0.1} (see {@link RatioGrid}). */
final class RatioGridConverter implements ITypeConverter<RatioGrid> {

    @Override
    public RatioGrid convert(String value) {
        try {
            return RatioGrid.parse(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
