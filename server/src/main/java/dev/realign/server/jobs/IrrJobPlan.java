package dev.realign.server.jobs;

import ai.djl.ndarray.types.DataType;
import dev.realign.api.v1.IrrJob;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.merge.AdapterKind;
import dev.realign.realign.IrrParameters;
import dev.realign.server.adapters.AdapterVersion;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.safety.PromptSetSource;
import dev.realign.server.tenancy.Tenant;
import dev.realign.train.TrainingSequence;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A validated IRR job: the model, both adapters (a reference to each version is held until the job ends, so an
 * unload or hot swap while it runs cannot free them), the tokenized sets and the parameters. Built on the
 * caller's thread, so a bad request fails before it takes a job slot, with the field named.
 *
 * @param outputName     the tenant-qualified registry name of the result
 * @param outputPath     where to also write the result folder (parent checked under the tenant's roots), or null
 */
record IrrJobPlan(ModelRegistry.Entry entry, Tenant tenant, String outputAdapter, String outputName,
                  String requestedOutputPath, Path outputPath, AdapterVersion fineTuned, AdapterVersion unaligned,
                  List<TrainingSequence> safety, List<int[]> calibration, IrrParameters parameters)
        implements AutoCloseable {
    /** Most prompts a set may contribute: each safety prompt is a forward and backward of the whole model. */
    static final int MAX_SEQUENCES = 4096;
    static final int MAX_BLOCK_SIZE = 65536;
    static final int MAX_FISHER_BATCH = 64;

    static IrrJobPlan of(RunJobRequest request, ModelRegistry models, Tenant tenant, PromptSetSource sets) {
        if (request.getOutputAdapter().isBlank()) {
            throw invalid("output_adapter: name the adapter the result is registered under");
        }
        if (request.getJobCase() != RunJobRequest.JobCase.IRR) {
            throw invalid("job: give the job to run (irr)");
        }
        ModelRegistry.Entry entry = models.resolve(request.getModel()); // NOT_FOUND names the model
        DataType dtype = entry.model().model().matrixType();
        if (dtype != DataType.FLOAT32) {
            throw Status.FAILED_PRECONDITION.withDescription("model: '" + entry.model().id() + "' is served in "
                    + dtype + "; IRR edits and differentiates fp32 weights: serve it with --dtype f32")
                    .asRuntimeException();
        }
        IrrJob irr = request.getIrr();
        IrrParameters parameters = parameters(irr.getParameters());
        Path outputPath = request.getOutputPath().isBlank() ? null : outputPath(request.getOutputPath(), tenant);
        JobSequences sequences = new JobSequences(entry.model());
        List<TrainingSequence> safety = sequences.answered("irr.safety",
                limited("irr.safety", sets.load("irr.safety", irr.getSafety(), tenant, PromptSetSource.Role.HARMFUL)));
        List<int[]> calibration;
        if (irr.hasCalibration()) {
            calibration = sequences.inputs("irr.calibration", limited("irr.calibration",
                    sets.load("irr.calibration", irr.getCalibration(), tenant, PromptSetSource.Role.TASK)));
        } else if (parameters.removeOnly()) {
            calibration = List.of();
        } else {
            throw invalid("irr.calibration: give task prompts for the recalibration (or set parameters.remove_only)");
        }
        AdapterVersion fineTuned = retain(entry, tenant, "irr.fine_tuned", irr.getFineTuned());
        try {
            AdapterVersion unaligned = retain(entry, tenant, "irr.unaligned", irr.getUnaligned());
            if (unaligned.source().kind() != AdapterKind.FULL_DELTA) {
                unaligned.close();
                throw invalid("irr.unaligned: '" + irr.getUnaligned() + "' is a " + unaligned.source().kind()
                        + " adapter; the unaligned model is given as a FULL_DELTA adapter of the same base"
                        + " (W_u = W_a + its delta)");
            }
            return new IrrJobPlan(entry, tenant, request.getOutputAdapter(), tenant.qualify(request.getOutputAdapter()),
                    request.getOutputPath(), outputPath, fineTuned, unaligned, safety, calibration, parameters);
        } catch (RuntimeException e) {
            fineTuned.close();
            throw e;
        }
    }

    private static PromptSetSource.Loaded limited(String field, PromptSetSource.Loaded set) {
        if (set.prompts().size() > MAX_SEQUENCES) {
            throw invalid(field + ": " + set.prompts().size() + " prompts, at most " + MAX_SEQUENCES
                    + " (set limit to sample them)");
        }
        return set;
    }

    /** The request's parameters over the paper's defaults; ranges checked with the field named. */
    static IrrParameters parameters(dev.realign.api.v1.IrrParameters p) {
        IrrParameters d = IrrParameters.DEFAULTS;
        double sparsity = p.hasSparsity() ? p.getSparsity() : d.sparsity();
        if (!(sparsity >= 0 && sparsity <= 1)) {
            throw invalid("irr.parameters.sparsity must be in [0, 1] (the fraction of candidates kept), got "
                    + sparsity);
        }
        long block = p.hasBlockSize() ? Integer.toUnsignedLong(p.getBlockSize()) : d.blockSize();
        if (block < 1 || block > MAX_BLOCK_SIZE) {
            throw invalid("irr.parameters.block_size must be in [1, " + MAX_BLOCK_SIZE + "], got " + block);
        }
        double damp = p.hasDamp() ? p.getDamp() : d.dampFraction();
        if (!(damp > 0 && damp <= 1)) {
            throw invalid("irr.parameters.damp must be in (0, 1], got " + damp);
        }
        long batch = p.hasFisherBatchSize() ? Integer.toUnsignedLong(p.getFisherBatchSize()) : d.fisherBatchSize();
        if (batch < 1 || batch > MAX_FISHER_BATCH) {
            throw invalid("irr.parameters.fisher_batch_size must be in [1, " + MAX_FISHER_BATCH + "], got " + batch);
        }
        return new IrrParameters(sparsity, (int) block, damp, p.getRemoveOnly(), p.getRemoveMore(), (int) batch);
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

    private static AdapterVersion retain(ModelRegistry.Entry entry, Tenant tenant, String field, String name) {
        if (name.isBlank()) {
            throw invalid(field + " must name a loaded adapter");
        }
        String qualified = tenant.qualify(name);
        return entry.adapters().get(qualified)
                .flatMap(v -> entry.adapters().retain(qualified, v.source().contentHash()))
                .orElseThrow(() -> Status.NOT_FOUND.withDescription(field + ": adapter '" + name
                        + "' is not loaded for model '" + entry.model().id() + "'").asRuntimeException());
    }

    @Override
    public void close() {
        fineTuned.close();
        unaligned.close();
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}
