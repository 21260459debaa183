package dev.realign.server.jobs;

import dev.realign.api.v1.IrrJob;
import dev.realign.api.v1.JobProgress;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.merge.AdapterKind;
import dev.realign.realign.Cancellation;
import dev.realign.realign.IrrParameters;
import dev.realign.server.adapters.AdapterVersion;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.safety.PromptSetSource;
import dev.realign.server.tenancy.Tenant;
import dev.realign.train.TrainingSequence;
import java.util.List;
import java.util.function.Consumer;

/**
 * A validated IRR job: the target, both adapters (a reference to each version is held until the job ends, so an
 * unload or hot swap while it runs cannot free them), the tokenized sets and the parameters.
 */
record IrrJobPlan(JobTarget target, AdapterVersion fineTuned, AdapterVersion unaligned,
                  List<TrainingSequence> safety, List<int[]> calibration, IrrParameters parameters)
        implements JobPlan {
    /** Most prompts a set may contribute: each safety prompt is a forward and backward of the whole model. */
    static final int MAX_SEQUENCES = 4096;
    static final int MAX_BLOCK_SIZE = 65536;
    static final int MAX_FISHER_BATCH = 64;

    static IrrJobPlan of(RunJobRequest request, ModelRegistry models, Tenant tenant, PromptSetSource sets) {
        JobTarget target = JobRequests.target(request, models, tenant, "IRR");
        IrrJob irr = request.getIrr();
        IrrParameters parameters = parameters(irr.getParameters());
        JobSequences sequences = new JobSequences(target.entry().model());
        List<TrainingSequence> safety = sequences.answered("irr.safety",
                limited("irr.safety", sets.load("irr.safety", irr.getSafety(), tenant, PromptSetSource.Role.HARMFUL)));
        List<int[]> calibration;
        if (irr.hasCalibration()) {
            calibration = sequences.inputs("irr.calibration", limited("irr.calibration",
                    sets.load("irr.calibration", irr.getCalibration(), tenant, PromptSetSource.Role.TASK)));
        } else if (parameters.removeOnly()) {
            calibration = List.of();
        } else {
            throw JobRequests.invalid("irr.calibration: give task prompts for the recalibration (or set "
                    + "parameters.remove_only)");
        }
        AdapterVersion fineTuned = JobRequests.retain(target, "irr.fine_tuned", irr.getFineTuned());
        try {
            JobRequests.checkPeftCarries(target, fineTuned.source().targets()); // IRR changes the fine-tune's tensors
            AdapterVersion unaligned = JobRequests.retain(target, "irr.unaligned", irr.getUnaligned());
            if (unaligned.source().kind() != AdapterKind.FULL_DELTA) {
                unaligned.close();
                throw JobRequests.invalid("irr.unaligned: '" + irr.getUnaligned() + "' is a "
                        + unaligned.source().kind() + " adapter; the unaligned model is given as a FULL_DELTA adapter "
                        + "of the same base (W_u = W_a + its delta)");
            }
            return new IrrJobPlan(target, fineTuned, unaligned, safety, calibration, parameters);
        } catch (RuntimeException e) {
            fineTuned.close();
            throw e;
        }
    }

    private static PromptSetSource.Loaded limited(String field, PromptSetSource.Loaded set) {
        if (set.prompts().size() > MAX_SEQUENCES) {
            throw JobRequests.invalid(field + ": " + set.prompts().size() + " prompts, at most " + MAX_SEQUENCES
                    + " (set limit to sample them)");
        }
        return set;
    }

    /** The request's parameters over the paper's defaults; ranges checked with the field named. */
    static IrrParameters parameters(dev.realign.api.v1.IrrParameters p) {
        IrrParameters d = IrrParameters.DEFAULTS;
        double sparsity = p.hasSparsity() ? p.getSparsity() : d.sparsity();
        if (!(sparsity >= 0 && sparsity <= 1)) {
            throw JobRequests.invalid("irr.parameters.sparsity must be in [0, 1] (the fraction of candidates kept), "
                    + "got " + sparsity);
        }
        long block = p.hasBlockSize() ? Integer.toUnsignedLong(p.getBlockSize()) : d.blockSize();
        if (block < 1 || block > MAX_BLOCK_SIZE) {
            throw JobRequests.invalid("irr.parameters.block_size must be in [1, " + MAX_BLOCK_SIZE + "], got "
                    + block);
        }
        double damp = p.hasDamp() ? p.getDamp() : d.dampFraction();
        if (!(damp > 0 && damp <= 1)) {
            throw JobRequests.invalid("irr.parameters.damp must be in (0, 1], got " + damp);
        }
        long batch = p.hasFisherBatchSize() ? Integer.toUnsignedLong(p.getFisherBatchSize()) : d.fisherBatchSize();
        if (batch < 1 || batch > MAX_FISHER_BATCH) {
            throw JobRequests.invalid("irr.parameters.fisher_batch_size must be in [1, " + MAX_FISHER_BATCH
                    + "], got " + batch);
        }
        return new IrrParameters(sparsity, (int) block, damp, p.getRemoveOnly(), p.getRemoveMore(), (int) batch);
    }

    @Override
    public String kind() {
        return "irr";
    }

    @Override
    public String summary() {
        return "IRR of '" + target.tenant().unqualify(fineTuned.name()) + "'";
    }

    @Override
    public Completed run(JobOutputArea area, String jobId, Consumer<JobProgress> progress, Cancellation cancellation) {
        return new IrrJobExecution(this, area, jobId).run(progress, cancellation);
    }

    @Override
    public void close() {
        fineTuned.close();
        unaligned.close();
    }
}
