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
        Path file;
        PromptSetFormat format = null;
        switch (set.getSourceCase()) {
            case BUILTIN -> {
                BuiltinPromptSet builtin = builtins.get(set.getBuiltin());
                if (builtin == null) {
                    throw Status.NOT_FOUND.withDescription(field + ".builtin: no prompt set named '" + set.getBuiltin()
                            + "'; this server has " + (builtins.isEmpty() ? "none" : builtins.keySet().stream()
                            .sorted().toList())).asRuntimeException();
                }
                file = builtin.file();
                format = builtin.format();
            }
            case PATH -> {
                try {
                    file = tenant.roots().resolveFile(set.getPath());
                } catch (StatusRuntimeException e) { // NOT_FOUND, PERMISSION_DENIED: say which set's path
                    throw e.getStatus().withDescription(field + ".path: " + e.getStatus().getDescription())
                            .asRuntimeException();
                }
            }
            case SOURCE_NOT_SET -> throw invalid(field + ": name a builtin set or a path");
            default -> throw invalid(field + ": unknown source");
        }
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

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}
