package dev.realign.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/** Typed reads of a JSON object whose errors name the source file and the field. */
final class JsonFields {
    private final JsonNode node;
    private final String source;

    JsonFields(JsonNode node, String source) {
        this.node = node;
        this.source = source;
    }

    JsonNode node(String field) {
        return node.get(field);
    }

    String requiredString(String field) {
        return optionalString(field).orElseThrow(() -> missing(field));
    }

    Optional<String> optionalString(String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return Optional.empty();
        }
        if (!value.isTextual()) {
            throw wrong(field, "a string", value);
        }
        return Optional.of(value.textValue());
    }

    Optional<Boolean> optionalBoolean(String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return Optional.empty();
        }
        if (!value.isBoolean()) {
            throw wrong(field, "true or false", value);
        }
        return Optional.of(value.booleanValue());
    }

    int positiveInt(String field) {
        OptionalInt value = optionalPositiveInt(field);
        if (value.isEmpty()) {
            throw missing(field);
        }
        return value.getAsInt();
    }

    OptionalInt optionalPositiveInt(String field) {
        OptionalInt value = optionalNonNegativeInt(field);
        if (value.isPresent() && value.getAsInt() == 0) {
            throw wrong(field, "a positive integer", node.get(field));
        }
        return value;
    }

    OptionalInt optionalNonNegativeInt(String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return OptionalInt.empty();
        }
        if (!value.canConvertToInt() || !value.isIntegralNumber() || value.intValue() < 0) {
            throw wrong(field, "a non-negative integer", value);
        }
        return OptionalInt.of(value.intValue());
    }

    double positiveDouble(String field) {
        OptionalDouble value = optionalPositiveDouble(field);
        if (value.isEmpty()) {
            throw missing(field);
        }
        return value.getAsDouble();
    }

    OptionalDouble optionalPositiveDouble(String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return OptionalDouble.empty();
        }
        if (!value.isNumber() || !(value.doubleValue() > 0) || Double.isInfinite(value.doubleValue())) {
            throw wrong(field, "a positive number", value);
        }
        return OptionalDouble.of(value.doubleValue());
    }

    private ModelConfigException missing(String field) {
        return new ModelConfigException(source + ": missing field '" + field + "'");
    }

    private ModelConfigException wrong(String field, String expected, JsonNode value) {
        return new ModelConfigException(source + ": field '" + field + "' must be " + expected + ", got " + value);
    }
}
