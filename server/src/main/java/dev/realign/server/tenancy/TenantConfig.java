package dev.realign.server.tenancy;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.MergeProfile;
import dev.realign.merge.methods.MergeMethods;
import dev.realign.server.adapters.AdapterRoots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The tenants of a server, read from the YAML file of {@code serve --config FILE} (format in the README).
 * Parsing is strict: an unknown field, a key that is not a SHA-256 hex hash, a missing root or a preset
 * outside its tenant's own policy is an error naming the field, so a typo never silently opens access.
 */
public record TenantConfig(List<Tenant> tenants) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    public TenantConfig {
        tenants = List.copyOf(tenants);
    }

    /** Reads and checks a configuration file; relative adapter roots resolve against the file's folder. */
    public static TenantConfig load(Path file) throws IOException {
        return parse(Files.readString(file), file.toAbsolutePath().getParent());
    }

    /** @throws IllegalArgumentException naming the offending field */
    public static TenantConfig parse(String yaml, Path baseDir) {
        JsonNode root;
        try {
            root = YAML.readTree(yaml);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("not valid YAML: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("the file must be a mapping with a 'tenants' list");
        }
        allowOnly(root, "", Set.of("tenants"));
        JsonNode list = root.get("tenants");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw new IllegalArgumentException("tenants must be a non-empty list");
        }
        List<Tenant> tenants = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Map<String, String> keyOwners = new HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            Tenant tenant = tenant(list.get(i), "tenants[" + i + "]", baseDir);
            if (!names.add(tenant.name())) {
                throw new IllegalArgumentException("tenants[" + i + "].name: '" + tenant.name() + "' is defined twice");
            }
            for (String hash : tenant.keyHashes()) {
                String other = keyOwners.putIfAbsent(hash, tenant.name());
                if (other != null) {
                    throw new IllegalArgumentException("tenants[" + i + "].api_keys: key hash " + hash.substring(0, 12)
                            + "... also belongs to tenant '" + other + "'");
                }
            }
            tenants.add(tenant);
        }
        return new TenantConfig(tenants);
    }

    private static Tenant tenant(JsonNode node, String field, Path baseDir) {
        requireObject(node, field);
        allowOnly(node, field, Set.of("name", "api_keys", "adapter_roots", "presets", "policy"));
        String name = text(node.get("name"), field + ".name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(field + ".name: '" + name
                    + "' must be letters, digits, '_', '.' or '-' (it prefixes the tenant's adapter names)");
        }
        Set<String> hashes = new HashSet<>();
        JsonNode keys = node.get("api_keys");
        if (keys == null || !keys.isArray() || keys.isEmpty()) {
            throw new IllegalArgumentException(field + ".api_keys must list at least one SHA-256 hex hash of a key");
        }
        for (int k = 0; k < keys.size(); k++) {
            String hash = text(keys.get(k), field + ".api_keys[" + k + "]").toLowerCase(Locale.ROOT);
            if (!SHA256_HEX.matcher(hash).matches()) {
                throw new IllegalArgumentException(field + ".api_keys[" + k + "] is not a SHA-256 hex hash "
                        + "(64 hex digits); store the hash, never the key: printf %s KEY | sha256sum");
            }
            hashes.add(hash);
        }
        List<Path> roots = new ArrayList<>();
        JsonNode rootList = node.get("adapter_roots");
        if (rootList != null) {
            requireArray(rootList, field + ".adapter_roots");
            for (int r = 0; r < rootList.size(); r++) {
                String f = field + ".adapter_roots[" + r + "]";
                Path root = baseDir.resolve(text(rootList.get(r), f));
                if (!Files.isDirectory(root)) {
                    throw new IllegalArgumentException(f + ": folder " + root + " does not exist");
                }
                roots.add(root);
            }
        }
        Policy policy = policy(node.get("policy"), field + ".policy");
        Map<String, MergeProfile> presets = new LinkedHashMap<>();
        JsonNode presetNodes = node.get("presets");
        if (presetNodes != null) {
            requireObject(presetNodes, field + ".presets");
            for (var entry : presetNodes.properties()) {
                String f = field + ".presets." + entry.getKey();
                MergeProfile preset = preset(entry.getValue(), f);
                checkPresetAgainstPolicy(preset, policy, name, f);
                presets.put(entry.getKey(), preset);
            }
        }
        return new Tenant(name, name + "/", hashes, new AdapterRoots(roots, field + ".adapter_roots"), presets,
                policy);
    }

    private static Policy policy(JsonNode node, String field) {
        if (node == null) {
            return Policy.UNLIMITED;
        }
        requireObject(node, field);
        allowOnly(node, field, Set.of("allowed_methods", "max_ratio", "max_concurrent_requests", "max_tokens"));
        Set<String> methods = new HashSet<>();
        JsonNode allowed = node.get("allowed_methods");
        if (allowed != null) {
            requireArray(allowed, field + ".allowed_methods");
            for (int m = 0; m < allowed.size(); m++) {
                String f = field + ".allowed_methods[" + m + "]";
                try {
                    methods.add(MergeMethods.byName(text(allowed.get(m), f)).name());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(f + ": " + e.getMessage());
                }
            }
        }
        Map<String, Double> ratios = new LinkedHashMap<>();
        JsonNode maxRatio = node.get("max_ratio");
        if (maxRatio != null) {
            requireObject(maxRatio, field + ".max_ratio");
            for (var entry : maxRatio.properties()) {
                ratios.put(entry.getKey(), number(entry.getValue(), field + ".max_ratio." + entry.getKey()));
            }
        }
        return new Policy(methods, ratios, count(node.get("max_concurrent_requests"), field + ".max_concurrent_requests"),
                count(node.get("max_tokens"), field + ".max_tokens"));
    }

    /** A preset in the API's form, so a request naming it goes through the same checks as a spelled-out one. */
    private static MergeProfile preset(JsonNode node, String field) {
        requireObject(node, field);
        allowOnly(node, field, Set.of("method", "adapters", "params"));
        MergeProfile.Builder profile = MergeProfile.newBuilder();
        if (node.has("method")) {
            String method = text(node.get("method"), field + ".method");
            try {
                profile.setMethod(MergeMethod.valueOf(method.strip().toUpperCase(Locale.ROOT).replace('-', '_')));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(field + ".method: unknown merge method '" + method + "'");
            }
        }
        JsonNode adapters = node.get("adapters");
        if (adapters == null || !adapters.isArray() || adapters.isEmpty()) {
            throw new IllegalArgumentException(field + ".adapters must list at least one {name, weight}");
        }
        for (int a = 0; a < adapters.size(); a++) {
            String f = field + ".adapters[" + a + "]";
            JsonNode adapter = adapters.get(a);
            requireObject(adapter, f);
            allowOnly(adapter, f, Set.of("name", "weight", "density"));
            AdapterWeight.Builder weight = AdapterWeight.newBuilder()
                    .setName(text(adapter.get("name"), f + ".name"))
                    .setWeight(number(adapter.get("weight"), f + ".weight"));
            if (adapter.has("density")) {
                weight.setDensity(number(adapter.get("density"), f + ".density"));
            }
            profile.addAdapters(weight);
        }
        JsonNode params = node.get("params");
        if (params != null) {
            requireObject(params, field + ".params");
            for (var entry : params.properties()) {
                param(profile, entry.getKey(), entry.getValue(), field + ".params." + entry.getKey());
            }
        }
        return profile.build();
    }

    private static void param(MergeProfile.Builder profile, String name, JsonNode value, String field) {
        switch (name) {
            case "density" -> profile.setDensity(number(value, field));
            case "lambda" -> profile.setLambda(number(value, field));
            case "t" -> profile.setT(number(value, field));
            case "gamma" -> profile.setGamma(number(value, field));
            case "epsilon" -> profile.setEpsilon(number(value, field));
            case "threshold" -> profile.setThreshold(number(value, field));
            case "normalize" -> profile.setNormalize(bool(value, field));
            case "rescale" -> profile.setRescale(bool(value, field));
            case "majority_sign" -> profile.setMajoritySign(text(value, field));
            case "seed" -> {
                if (!value.canConvertToLong() || value.asLong() < 0) {
                    throw new IllegalArgumentException(field + " must be a non-negative integer");
                }
                profile.setSeed(value.asLong());
            }
            default -> throw new IllegalArgumentException(field + ": unknown parameter (known: density, lambda, t, "
                    + "gamma, epsilon, threshold, normalize, rescale, majority_sign, seed)");
        }
    }

    private static void checkPresetAgainstPolicy(MergeProfile preset, Policy policy, String tenant, String field) {
        String method = preset.getMethod() == MergeMethod.MERGE_METHOD_UNSPECIFIED ? "linear"
                : MergeMethods.byName(preset.getMethod().name()).name();
        var weights = Policy.summed(preset.getAdaptersList().stream()
                .map(a -> Map.entry(a.getName(), a.getWeight())).toList());
        double scale = preset.hasLambda() ? preset.getLambda() : 1;
        policy.violation(tenant, method, weights, scale).ifPresent(v -> {
            throw new IllegalArgumentException(field + " breaks its tenant's " + v);
        });
    }

    private static void allowOnly(JsonNode node, String field, Set<String> known) {
        for (var it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name)) {
                throw new IllegalArgumentException((field.isEmpty() ? "" : field + ".") + name
                        + ": unknown field (known: " + String.join(", ", known.stream().sorted().toList()) + ")");
            }
        }
    }

    private static void requireObject(JsonNode node, String field) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(field + " must be a mapping");
        }
    }

    private static void requireArray(JsonNode node, String field) {
        if (!node.isArray()) {
            throw new IllegalArgumentException(field + " must be a list");
        }
    }

    private static String text(JsonNode node, String field) {
        if (node == null || !node.isTextual() || node.asText().isBlank()) {
            throw new IllegalArgumentException(field + " must be a non-empty string");
        }
        return node.asText();
    }

    private static double number(JsonNode node, String field) {
        if (node == null || !node.isNumber() || !Double.isFinite(node.asDouble())) {
            throw new IllegalArgumentException(field + " must be a finite number");
        }
        return node.asDouble();
    }

    private static boolean bool(JsonNode node, String field) {
        if (node == null || !node.isBoolean()) {
            throw new IllegalArgumentException(field + " must be true or false");
        }
        return node.asBoolean();
    }

    private static int count(JsonNode node, String field) {
        if (node == null) {
            return 0;
        }
        if (!node.canConvertToInt() || !node.isIntegralNumber() || node.asInt() < 0) {
            throw new IllegalArgumentException(field + " must be a whole number >= 0 (0 = no limit)");
        }
        return node.asInt();
    }
}
