package dev.realign.server.safety;

import dev.realign.api.v1.PromptSet;
import dev.realign.safety.prompts.LabeledPrompt;
import dev.realign.safety.prompts.PromptSetException;
import dev.realign.safety.prompts.PromptSetFormat;
import dev.realign.safety.prompts.PromptSets;
import dev.realign.server.tenancy.Tenant;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Turns a request's {@code PromptSet} into prompts: a built-in set by name, or a file under the tenant's
 * allowed roots. Errors name the request field ({@code harmful}, {@code task}, {@code benign}) and, for a
 * malformed file, its line.
 */
public final class PromptSetSource {
    /** What a set is used for; labeled sets (XSTest) keep only the prompts of the matching label. */
    public enum Role {
        HARMFUL(LabeledPrompt.SAFE), BENIGN(LabeledPrompt.UNSAFE), TASK(null);

        private final String excludedLabel;

        Role(String excludedLabel) {
            this.excludedLabel = excludedLabel;
        }
    }

    /** The prompts of a set and the file they came from (for errors that name a line). */
    public record Loaded(Path file, List<LabeledPrompt> prompts) {
    }

    private final Map<String, BuiltinPromptSet> builtins;

    public PromptSetSource(Map<String, BuiltinPromptSet> builtins) {
        this.builtins = builtins;
    }

    public Loaded load(String field, PromptSet set, Tenant tenant, Role role) {
        Resolved resolved = resolve(field, set, tenant);
        Path file = resolved.file();
        PromptSetFormat format = resolved.format();
        if (!set.getFormat().isEmpty()) {
            try {
                format = PromptSetFormat.named(set.getFormat());
            } catch (IllegalArgumentException e) {
                throw invalid(field + ".format: " + e.getMessage());
            }
        }
        List<LabeledPrompt> prompts;
        try {
            prompts = PromptSets.load(file, format);
        } catch (PromptSetException e) {
            throw invalid(field + ": " + e.getMessage());
        }
        List<LabeledPrompt> kept = role.excludedLabel == null ? prompts
                : prompts.stream().filter(p -> !p.label().equals(role.excludedLabel)).toList();
        if (kept.isEmpty()) {
            throw invalid(field + ": " + file.getFileName() + " has no prompts for a " + role.name().toLowerCase()
                    + " set (all are labeled '" + role.excludedLabel + "')");
        }
        return new Loaded(file, PromptSets.spread(kept, set.getLimit()));
    }

    /** A set's file and, for a built-in set, the format its operator gave (null: told by the file). */
    public record Resolved(Path file, PromptSetFormat format) {
    }

    /** The file {@code set} names: a built-in set's, or a path under the tenant's roots; errors name the field. */
    public Resolved resolve(String field, PromptSet set, Tenant tenant) {
        return switch (set.getSourceCase()) {
            case BUILTIN -> {
                BuiltinPromptSet builtin = builtins.get(set.getBuiltin());
                if (builtin == null) {
                    throw Status.NOT_FOUND.withDescription(field + ".builtin: no prompt set named '" + set.getBuiltin()
                            + "'; this server has " + (builtins.isEmpty() ? "none" : builtins.keySet().stream()
                            .sorted().toList())).asRuntimeException();
                }
                yield new Resolved(builtin.file(), builtin.format());
            }
            case PATH -> {
                try {
                    yield new Resolved(tenant.roots().resolveFile(set.getPath()), null);
                } catch (StatusRuntimeException e) { // NOT_FOUND, PERMISSION_DENIED: say which set's path
                    throw e.getStatus().withDescription(field + ".path: " + e.getStatus().getDescription())
                            .asRuntimeException();
                }
            }
            case SOURCE_NOT_SET -> throw invalid(field + ": name a builtin set or a path");
        };
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}
