package dev.realign.client.cli;

import dev.realign.api.v1.AdapterWeight;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code NAME=WEIGHT} into an {@link AdapterWeight}; the last '=' splits, so a name may contain '='. */
final class AdapterWeightConverter implements ITypeConverter<AdapterWeight> {

    @Override
    public AdapterWeight convert(String value) {
        int split = value.lastIndexOf('=');
        if (split <= 0 || split == value.length() - 1) {
            throw invalid(value);
        }
        double weight;
        try {
            weight = Double.parseDouble(value.substring(split + 1).strip());
        } catch (NumberFormatException e) {
            throw invalid(value);
        }
        if (!Double.isFinite(weight)) {
            throw invalid(value);
        }
        return AdapterWeight.newBuilder().setName(value.substring(0, split).strip()).setWeight(weight).build();
    }

    private static TypeConversionException invalid(String value) {
        return new TypeConversionException("expected NAME=WEIGHT (e.g. medical=0.7) but was '" + value + "'");
    }
}
