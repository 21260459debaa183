package dev.realign.server.safety;

import dev.realign.api.v1.SweepEvent;
import dev.realign.api.v1.SweepRequest;
import dev.realign.safety.RefusalDetectors;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.tenancy.Tenant;
import dev.realign.server.tenancy.Tenants;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admits sweeps (at most {@link SafetyOptions#maxSweeps()} at once; more is RESOURCE_EXHAUSTED) and runs each
 * on a virtual thread of its own, after validating it on the caller's thread.
 */
public final class SweepRunner {
    private static final Logger log = LoggerFactory.getLogger(SweepRunner.class);

    private final ModelRegistry models;
    private final Tenants tenants;
    private final RefusalDetectors detectors;
    private final PromptSetSource sets;
    private final Semaphore running;
    private final int maxSweeps;

    public SweepRunner(ModelRegistry models, Tenants tenants, SafetyOptions options) {
        this.models = models;
        this.tenants = tenants;
        this.detectors = options.detectors();
        this.sets = new PromptSetSource(options.builtinSets());
        this.maxSweeps = options.maxSweeps();
        this.running = new Semaphore(maxSweeps);
    }

    /**
     * Validates the request and starts the sweep; a request that does not validate fails the call at once.
     *
     * @throws io.grpc.StatusRuntimeException when the request is invalid or too many sweeps run
     */
    public void start(SweepRequest request, Tenant tenant, ServerCallStreamObserver<SweepEvent> call) {
        AtomicBoolean cancelled = new AtomicBoolean();
        call.setOnCancelHandler(() -> cancelled.set(true));
        SweepPlan plan = SweepPlan.of(request, models, tenant, detectors, sets);
        if (!running.tryAcquire()) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("the server runs its limit of " + maxSweeps
                    + " sweeps; retry when one finishes").asRuntimeException();
        }
        Deadline deadline = Context.current().getDeadline();
        long deadlineNanos = deadline == null ? Long.MAX_VALUE
                : System.nanoTime() + deadline.timeRemaining(TimeUnit.NANOSECONDS);
        String id = "sweep-" + UUID.randomUUID().toString().substring(0, 8);
        log.info("{}: tenant '{}', {} points x {} prompts on model '{}'", id, tenant.name(), plan.points().size(),
                plan.promptsPerPoint(), plan.entry().model().id());
        SweepRun run = new SweepRun(plan, tenants, call, cancelled, deadlineNanos, id);
        Thread.ofVirtual().name(id).start(() -> {
            long start = System.nanoTime();
            try {
                run.run();
            } finally {
                running.release();
                log.info("{}: ended after {} s{}", id, (System.nanoTime() - start) / 1_000_000_000,
                        cancelled.get() ? " (cancelled or failed)" : "");
            }
        });
    }
}
