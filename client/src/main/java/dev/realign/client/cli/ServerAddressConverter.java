package dev.realign.client.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A non-empty gRPC target ({@code host:port}, or any form gRPC resolves such as {@code dns:///host:port}).
 * Only emptiness is checked here: a typo in a host name is for the resolver to report, with its reason.
 */
final class ServerAddressConverter implements ITypeConverter<String> {

    @Override
    public String convert(String value) {
        var address = value.strip();
        if (address.isEmpty()) {
            throw new TypeConversionException("expected HOST:PORT but was empty");
        }
        return address;
    }
}
