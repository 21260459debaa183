package dev.realign.server.jobs;

import dev.realign.api.v1.CancelJobResponse;
import dev.realign.api.v1.JobEvent;
import dev.realign.api.v1.JobInfo;
import dev.realign.api.v1.JobResult;
import dev.realign.api.v1.JobStarted;
import dev.realign.api.v1.RunJobRequest;
import dev.realign.server.grpc.AdaptersService;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.safety.PromptSetSource;
import dev.realign.server.safety.SafetyOptions;
import dev.realign.server.tenancy.Tenant;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admits realignment jobs and runs them on a bounded pool of platform threads beside serving ({@link JobOptions}:
 * N threads, a small queue, RESOURCE_EXHAUSTED beyond). Jobs never run on gRPC or scheduler threads, so a job's
 * long native work cannot stall token streaming. Keeps the admitted jobs for List and Cancel, per tenant.
 */
public final class JobRunner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);

    private final ModelRegistry models;
    private final PromptSetSource sets;
    private final JobOptions options;
    private final JobOutputArea area;
    private final ThreadPoolExecutor executor;
    private final Semaphore admitted; // running + queued jobs
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();

    /** @param area where results are written; the caller closes it after the models (their versions use it) */
    public JobRunner(ModelRegistry models, SafetyOptions safety, JobOptions options, JobOutputArea area) {
        this.models = models;
        this.sets = new PromptSetSource(safety.builtinSets());
        this.options = options;
        this.area = area;
        this.admitted = new Semaphore(options.threads() + options.queue());
        AtomicInteger threads = new AtomicInteger();
        // Unbounded queue: admission is the semaphore's, so that a refused job is refused before any event.
        this.executor = new ThreadPoolExecutor(options.threads(), options.threads(), 0, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(),
                r -> Thread.ofPlatform().name("realign-job-" + threads.incrementAndGet()).daemon().unstarted(r));
    }

    /**
     * Validates the request on the caller's thread (a bad one fails the call at once), then queues the job.
     *
     * @throws StatusRuntimeException when the request is invalid or the queue is full
     */
    public void start(RunJobRequest request, Tenant tenant, ServerCallStreamObserver<JobEvent> call) {
        JobPlan plan = JobPlan.of(request, models, tenant, sets);
        if (!admitted.tryAcquire()) {
            plan.close();
            throw Status.RESOURCE_EXHAUSTED.withDescription("jobs: " + options.threads() + " running and "
                    + options.queue() + " queued, the server's limit (serve --job-threads); retry when one finishes")
                    .asRuntimeException();
        }
        String id = "job-" + UUID.randomUUID().toString().substring(0, 8);
        JobTarget target = plan.target();
        Job job = new Job(id, tenant.name(), plan.kind(), target.entry().model().id(), target.outputAdapter());
        call.setOnCancelHandler(job::cancel);
        jobs.put(id, job);
        int layers = target.layers();
        // The first events go out before the job is queued, so that only the job thread writes after this.
        call.onNext(JobEvent.newBuilder().setStarted(JobStarted.newBuilder().setJobId(id)).build());
        var queued = JobProgressEvents.stage("queued", layers, 0, executor.getActiveCount() + " running, "
                + executor.getQueue().size() + " queued before it");
        job.progress(queued);
        call.onNext(JobEvent.newBuilder().setProgress(queued).build());
        try {
            executor.execute(() -> run(job, plan, call));
        } catch (RejectedExecutionException shuttingDown) {
            admitted.release();
            jobs.remove(id);
            plan.close();
            throw Status.UNAVAILABLE.withDescription("the server is shutting down").asRuntimeException();
        }
        log.info("{}: tenant '{}' queued {} on model '{}' into '{}'", id, tenant.name(), plan.summary(),
                target.entry().model().id(), target.outputAdapter());
    }

    private void run(Job job, JobPlan plan, ServerCallStreamObserver<JobEvent> call) {
        long start = System.nanoTime();
        String outcome = "failed";
        Runnable finish; // the call's last event, sent once the job holds no permit: its client may run the next one
        try (plan) {
            job.running();
            job.cancellation().check(); // cancelled while queued
            JobPlan.Completed completed = plan.run(area, job.id(), p -> {
                job.progress(p);
                call.onNext(JobEvent.newBuilder().setProgress(p).build());
            }, job.cancellation());
            double seconds = (System.nanoTime() - start) / 1e9;
            JobTarget target = plan.target();
            JobResult.Builder message = completed.result()
                    .setAdapter(AdaptersService.info(target.entry().model().id(), target.tenant(), completed.version()))
                    .setSeconds(seconds);
            outcome = "registered " + completed.version();
            JobEvent result = JobEvent.newBuilder().setResult(message).build();
            finish = () -> {
                call.onNext(result);
                call.onCompleted();
            };
        } catch (CancellationException e) {
            outcome = "cancelled";
            finish = () -> call.onError(Status.CANCELLED.withDescription("job " + job.id()
                    + " was cancelled; nothing was registered").asRuntimeException());
        } catch (StatusRuntimeException e) {
            finish = () -> call.onError(e);
        } catch (IllegalArgumentException e) {
            // The library's own checks (a delta of the wrong shape, nothing to realign): the inputs are at fault.
            finish = () -> call.onError(Status.INVALID_ARGUMENT.withDescription(plan.kind() + ": " + e.getMessage())
                    .asRuntimeException());
        } catch (RuntimeException | Error e) {
            log.error("{} failed", job.id(), e);
            finish = () -> call.onError(Status.INTERNAL.withDescription("job " + job.id() + " failed: " + e)
                    .asRuntimeException());
        } finally {
            // The permit before the listing: a client that sees the job gone from the list can run the next one.
            admitted.release();
            jobs.remove(job.id());
            log.info("{}: {} after {} s", job.id(), outcome, String.format("%.1f", (System.nanoTime() - start) / 1e9));
        }
        try {
            finish.run();
        } catch (RuntimeException callGone) { // cancelled by its client after the job ended: nobody to tell
            log.debug("{}: its call ended before its last event: {}", job.id(), callGone.toString());
        }
    }

    /** The tenant's queued and running jobs. */
    public List<JobInfo> list(Tenant tenant) {
        return jobs.values().stream().filter(j -> j.tenant().equals(tenant.name())).map(Job::info)
                .sorted(Comparator.comparing(JobInfo::getJobId)).toList();
    }

    /** Raises the job's cancellation flag; NOT_FOUND for an unknown id or another tenant's job. */
    public CancelJobResponse cancel(String jobId, Tenant tenant) {
        if (jobId.isBlank()) {
            throw Status.INVALID_ARGUMENT.withDescription("job_id must not be empty").asRuntimeException();
        }
        Job job = jobs.get(jobId);
        if (job == null || !job.tenant().equals(tenant.name())) {
            throw Status.NOT_FOUND.withDescription("job_id: no queued or running job '" + jobId + "'")
                    .asRuntimeException();
        }
        return CancelJobResponse.newBuilder().setCancelled(job.cancel()).build();
    }

    /**
     * Cancels every job and waits for them to stop. They stop at their next checkpoint (a tensor boundary, which
     * can be minutes away on a large model), and the wait is not cut short: the models are freed after this, and
     * a job still computing would read freed native memory. The output area is the caller's to close.
     */
    @Override
    public void close() {
        jobs.values().forEach(Job::cancel);
        executor.shutdown();
        try {
            while (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
                log.warn("waiting for {} cancelled job(s) to reach their next checkpoint", jobs.size());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
