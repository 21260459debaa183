package dev.realign.server.grpc;

import dev.realign.api.v1.CancelJobRequest;
import dev.realign.api.v1.CancelJobResponse;
import dev.realign.api.v1.JobEvent;
import dev.realign.api.v1.JobsGrpc;
import dev.realign.api.v1.ListJobsRequest;
import dev.realign.api.v1.ListJobsResponse;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.server.jobs.JobRunner;
import dev.realign.server.tenancy.TenantContext;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code realign.v1.Jobs}: start a realignment job and stream its progress, cancel it, list the caller's jobs.
 * Every call is scoped to the calling tenant; the work itself is {@link JobRunner}'s.
 */
public final class JobsService extends JobsGrpc.JobsImplBase {
    private static final Logger log = LoggerFactory.getLogger(JobsService.class);

    private final JobRunner runner;

    public JobsService(JobRunner runner) {
        this.runner = runner;
    }

    @Override
    public void run(RunJobRequest request, StreamObserver<JobEvent> responses) {
        try {
            runner.start(request, TenantContext.current(), (ServerCallStreamObserver<JobEvent>) responses);
        } catch (StatusRuntimeException e) {
            responses.onError(e);
        } catch (RuntimeException e) {
            log.error("Jobs.Run failed before the job started", e);
            responses.onError(Status.INTERNAL.withDescription("internal error: " + e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public void cancel(CancelJobRequest request, StreamObserver<CancelJobResponse> responses) {
        try {
            responses.onNext(runner.cancel(request.getJobId(), TenantContext.current()));
            responses.onCompleted();
        } catch (StatusRuntimeException e) {
            responses.onError(e);
        }
    }

    @Override
    public void list(ListJobsRequest request, StreamObserver<ListJobsResponse> responses) {
        responses.onNext(ListJobsResponse.newBuilder().addAllJobs(runner.list(TenantContext.current())).build());
        responses.onCompleted();
    }
}
