package dev.realign.server.jobs;

import ai.djl.ndarray.types.DataType;
import dev.realign.api.v1.OutputFormat;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.merge.LoraExtractor;
import dev.realign.server.adapters.AdapterVersion;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.tenancy.Tenant;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;

/** The checks every job kind's plan makes of a {@code RunJobRequest}, each error naming its field. */
final class JobRequests {
    private JobRequests() {}

    /**
     * The model (NOT_FOUND names it; FAILED_PRECONDITION unless it is served in fp32, which the jobs edit and
     * differentiate), the output adapter's name and the optional output folder.
     *
     * @param kind the job's name in messages ("IRR", "SOMF")
     */
    static JobTarget target(RunJobRequest request, ModelRegistry models, Tenant tenant, String kind) {
        if (request.getOutputAdapter().isBlank()) {
            throw invalid("output_adapter: name the adapter the result is registered under");
        }
        ModelRegistry.Entry entry = models.resolve(request.getModel());
        DataType dtype = entry.model().model().matrixType();
        if (dtype != DataType.FLOAT32) {
            throw Status.FAILED_PRECONDITION.withDescription("model: '" + entry.model().id() + "' is served in "
                    + dtype + "; " + kind + " edits and differentiates fp32 weights: serve it with --dtype f32")
                    .asRuntimeException();
        }
        return new JobTarget(entry, tenant, request.getOutputAdapter(), tenant.qualify(request.getOutputAdapter()),
                output(request, tenant));
    }

    private static JobOutput output(RunJobRequest request, Tenant tenant) {
        OutputFormat format = switch (request.getOutputFormat()) {
            case OUTPUT_FORMAT_UNSPECIFIED, OUTPUT_FORMAT_FULL_DELTA -> OutputFormat.OUTPUT_FORMAT_FULL_DELTA;
            case OUTPUT_FORMAT_PEFT_LORA -> OutputFormat.OUTPUT_FORMAT_PEFT_LORA;
            default -> throw invalid("output_format: unknown value " + request.getOutputFormatValue());
        };
        int rank = request.getOutputLoraRank() == 0 ? JobOutput.DEFAULT_LORA_RANK : request.getOutputLoraRank();
        if (rank < 1 || rank > JobOutput.MAX_LORA_RANK) {
            throw invalid("output_lora_rank must be in [1, " + JobOutput.MAX_LORA_RANK + "], got "
                    + Integer.toUnsignedString(request.getOutputLoraRank()));
        }
        if (request.getOutputPath().isBlank()) {
            if (request.getOutputFormat() != OutputFormat.OUTPUT_FORMAT_UNSPECIFIED
                    || request.getOutputLoraRank() != 0) {
                throw invalid("output_format and output_lora_rank describe output_path, which is not given");
            }
            return null;
        }
        if (format != OutputFormat.OUTPUT_FORMAT_PEFT_LORA && request.getOutputLoraRank() != 0) {
            throw invalid("output_lora_rank is for output_format OUTPUT_FORMAT_PEFT_LORA, got " + format);
        }
        return new JobOutput(request.getOutputPath(), outputPath(request.getOutputPath(), tenant), format, rank);
    }

    /** A new folder whose parent lies under the tenant's roots. */
    private static Path outputPath(String requested, Tenant tenant) {
        Path asked = Path.of(requested).normalize();
        if (asked.getFileName() == null || asked.getFileName().toString().equals("..")) {
            throw invalid("output_path '" + requested + "' does not name a new folder");
        }
        Path parent = asked.getParent();
        Path realParent;
        try {
            realParent = tenant.roots().resolve(parent == null ? "." : parent.toString());
        } catch (StatusRuntimeException e) {
            throw e.getStatus().withDescription("output_path: " + e.getStatus().getDescription()).asRuntimeException();
        }
        Path target = realParent.resolve(asked.getFileName().toString());
        if (Files.exists(target)) {
            throw Status.ALREADY_EXISTS.withDescription("output_path '" + requested + "' exists; name a new folder")
                    .asRuntimeException();
        }
        return target;
    }

    /**
     * For a PEFT output: FAILED_PRECONDITION before the job runs when the result will change a tensor that a PEFT
     * LoRA adapter cannot carry beside the LoRA: the bias of a projection the LoRA adapts (Qwen2's q, k and v
     * biases; PEFT would have to list the whole projection in modules_to_save, which conflicts with adapting it).
     *
     * @param changed the tensors the job's result changes
     */
    static void checkPeftCarries(JobTarget target, Collection<String> changed) {
        JobOutput output = target.output();
        if (output == null || output.format() != OutputFormat.OUTPUT_FORMAT_PEFT_LORA) {
            return;
        }
        List<String> biases = changed.stream().filter(JobRequests::isProjectionBias).sorted().toList();
        if (!biases.isEmpty()) {
            throw Status.FAILED_PRECONDITION.withDescription("output_format OUTPUT_FORMAT_PEFT_LORA: the result "
                    + "changes '" + biases.getFirst() + "'" + (biases.size() > 1 ? " and " + (biases.size() - 1)
                    + " more" : "") + ", the bias of a projection the LoRA adapts, which a PEFT LoRA adapter (bias "
                    + "'none') cannot carry; use OUTPUT_FORMAT_FULL_DELTA").asRuntimeException();
        }
    }

    private static boolean isProjectionBias(String tensor) {
        return tensor.endsWith(".bias")
                && LoraExtractor.isLinearTarget(tensor.substring(0, tensor.length() - ".bias".length()) + ".weight");
    }

    /**
     * A reference to the adapter's current version, held until the job ends, so that an unload or hot swap while
     * the job runs cannot free it; NOT_FOUND names the field.
     */
    static AdapterVersion retain(JobTarget target, String field, String name) {
        if (name.isBlank()) {
            throw invalid(field + " must name a loaded adapter");
        }
        String qualified = target.tenant().qualify(name);
        ModelRegistry.Entry entry = target.entry();
        return entry.adapters().get(qualified)
                .flatMap(v -> entry.adapters().retain(qualified, v.source().contentHash()))
                .orElseThrow(() -> Status.NOT_FOUND.withDescription(field + ": adapter '" + name
                        + "' is not loaded for model '" + entry.model().id() + "'").asRuntimeException());
    }

    static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}
