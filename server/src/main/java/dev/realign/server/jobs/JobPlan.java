package dev.realign.server.jobs;

import dev.realign.api.v1.JobProgress;
import dev.realign.api.v1.JobResult;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.realign.Cancellation;
import dev.realign.server.adapters.AdapterVersion;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.safety.PromptSetSource;
import dev.realign.server.tenancy.Tenant;
import java.util.function.Consumer;

/**
 * A validated job of one kind, built on the caller's thread so that a bad request fails before it takes a job
 * slot; it holds references to the adapter versions it reads until it is closed.
 */
sealed interface JobPlan extends AutoCloseable permits IrrJobPlan, SomfJobPlan {
    /** What a finished job produced: the registered version and the kind's part of the result message. */
    record Completed(AdapterVersion version, JobResult.Builder result) {}

    /** Validates {@code request} for its job kind; INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION name the field. */
    static JobPlan of(RunJobRequest request, ModelRegistry models, Tenant tenant, PromptSetSource sets) {
        return switch (request.getJobCase()) {
            case IRR -> IrrJobPlan.of(request, models, tenant, sets);
            case SOMF -> SomfJobPlan.of(request, models, tenant, sets);
            case JOB_NOT_SET -> throw JobRequests.invalid("job: give the job to run (irr or somf)");
        };
    }

    JobTarget target();

    /** "irr" or "somf", as List shows it. */
    String kind();

    /** One line for the server log. */
    String summary();

    /**
     * Runs the job on the calling (job) thread and registers its result as the last step.
     *
     * @throws java.util.concurrent.CancellationException when cancelled; nothing is registered then
     */
    Completed run(JobOutputArea area, String jobId, Consumer<JobProgress> progress, Cancellation cancellation);

    @Override
    void close();
}
