package dev.realign.client.cli;

import dev.realign.api.v1.MergeMethod;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A {@link MergeMethod} by name, case-insensitive, '-' accepted for '_' ({@code dare-ties}). The proto's
 * UNSPECIFIED and UNRECOGNIZED are not methods a user can choose, so they are rejected.
 */
final class MergeMethodConverter implements ITypeConverter<MergeMethod> {

    @Override
    public MergeMethod convert(String value) {
        var name = value.strip().replace('-', '_').toUpperCase(Locale.ROOT);
        for (var method : choosable()) {
            if (method.name().equals(name)) {
                return method;
            }
        }
        throw new TypeConversionException("expected one of " + names() + " but was '" + value + "'");
    }

    private static MergeMethod[] choosable() {
        return Arrays.stream(MergeMethod.values())
                .filter(m -> m != MergeMethod.UNRECOGNIZED && m != MergeMethod.MERGE_METHOD_UNSPECIFIED)
                .toArray(MergeMethod[]::new);
    }

    static String names() {
        return Arrays.stream(choosable())
                .map(m -> m.name().toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(", "));
    }
}
