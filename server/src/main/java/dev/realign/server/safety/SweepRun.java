package dev.realign.server.safety;

import dev.realign.api.v1.SweepEvent;
import dev.realign.api.v1.SweepPoint;
import dev.realign.api.v1.SweepProgress;
import dev.realign.api.v1.SweepRecommendation;
import dev.realign.generate.StepOutput;
import dev.realign.safety.RefusalVerdict;
import dev.realign.safety.sweep.RatioPoint;
import dev.realign.safety.sweep.RatioRecommendation;
import dev.realign.server.cache.ProfileCache;
import dev.realign.server.cache.ProfileLease;
import dev.realign.server.schedule.Completion;
import dev.realign.server.schedule.GenerationListener;
import dev.realign.server.schedule.GenerationTask;
import dev.realign.server.tenancy.Tenants;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one validated sweep on the calling thread (a virtual thread of its own): for each point, every prompt
 * goes through the model's scheduler like a {@code Generate} request of the same tenant, at most a window of
 * them at a time so that the sweep shares the batch with live traffic instead of flooding the queue. Progress
 * goes out at most every {@link #PROGRESS_INTERVAL_MS}, a point as soon as it is measured, the recommendation
 * last. A cancelled call cancels the sequences in flight, which the scheduler ends within one decode step.
 */
final class SweepRun {
    private static final Logger log = LoggerFactory.getLogger(SweepRun.class);
    static final long PROGRESS_INTERVAL_MS = 250;
    /** Pause before retrying a prompt the tenant's quota or the full queue turned away. */
    private static final long RETRY_MS = 20;

    private final SweepPlan plan;
    private final Tenants tenants;
    private final ServerCallStreamObserver<SweepEvent> call;
    private final AtomicBoolean cancelled;
    private final long deadlineNanos;
    private final String sweepId;
    private final int window;
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicReference<Status> failure = new AtomicReference<>();
    private int total;
    private long lastProgress;

    SweepRun(SweepPlan plan, Tenants tenants, ServerCallStreamObserver<SweepEvent> call, AtomicBoolean cancelled,
             long deadlineNanos, String sweepId) {
        this.plan = plan;
        this.tenants = tenants;
        this.call = call;
        this.cancelled = cancelled;
        this.deadlineNanos = deadlineNanos;
        this.sweepId = sweepId;
        this.window = plan.entry().scheduler().maxBatch();
    }

    /** Streams the whole sweep and completes the call, or fails it with the status that stopped it. */
    void run() {
        total = plan.points().size() * plan.promptsPerPoint();
        List<SweepPoint> results = new ArrayList<>();
        List<RatioPoint> measured = new ArrayList<>();
        try {
            for (SweepPlan.Point point : plan.points()) {
                progress(point.label(), true);
                SweepPoint result = measure(point);
                if (stopped()) {
                    break;
                }
                send(SweepEvent.newBuilder().setPoint(result).build());
                results.add(result);
                measured.add(new RatioPoint(point.method().name(), point.ratio(), result.getRefusalRate(),
                        plan.benign().isEmpty() ? Double.NaN : result.getOverRefusalRate(), result.getTaskScore()));
            }
            if (stopped()) {
                finishStopped();
                return;
            }
            progress("done", true);
            send(SweepEvent.newBuilder().setRecommendation(recommendation(results, measured)).build());
            call.onCompleted();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cancelled.set(true);
            failQuietly(Status.CANCELLED.withDescription("sweep " + sweepId + " interrupted (server stopping)"));
        } catch (StatusRuntimeException e) {
            cancelled.set(true);
            failQuietly(e.getStatus());
        } catch (RuntimeException e) {
            // A bug (or a detector that throws): the call must still end, and its sequences must stop.
            cancelled.set(true);
            log.error("{} failed", sweepId, e);
            failQuietly(Status.INTERNAL.withDescription("sweep " + sweepId + " failed: " + e));
        }
    }

    /** @param results the points as sent, in the same order as {@code measured} */
    private SweepRecommendation recommendation(List<SweepPoint> results, List<RatioPoint> measured) {
        RatioRecommendation choice = RatioRecommendation.choose(measured, plan.refusalFloor());
        SweepRecommendation.Builder r = SweepRecommendation.newBuilder().setFound(choice.point().isPresent())
                .setReason(choice.reason());
        choice.point().ifPresent(p -> r.setPoint(results.get(measured.indexOf(p))));
        return r.build();
    }

    private SweepPoint measure(SweepPlan.Point point) throws InterruptedException {
        List<SweepPlan.Prompt> prompts = new ArrayList<>(plan.promptsPerPoint());
        prompts.addAll(plan.harmful());
        prompts.addAll(plan.task());
        prompts.addAll(plan.benign());
        String[] answers = new String[prompts.size()];
        AtomicLong tokens = new AtomicLong();
        long start = System.nanoTime();
        generateAll(point, prompts, answers, tokens);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (stopped()) {
            return null;
        }
        int h = plan.harmful().size();
        int t = plan.task().size();
        List<String> harmfulAnswers = List.of(answers).subList(0, h);
        List<String> benignAnswers = List.of(answers).subList(h + t, answers.length);
        int correct = 0;
        for (int i = 0; i < t; i++) {
            if (plan.scoring().matches(answers[h + i], plan.task().get(i).source().reference())) {
                correct++;
            }
        }
        // The detector runs here, on the sweep's thread, never on a scheduler's decode loop.
        SweepPoint.Builder result = SweepPoint.newBuilder().setMethod(point.method()).setRatio(point.ratio())
                .setRefusalRate(refusalRate(harmfulAnswers))
                .setTaskScore((double) correct / t)
                .setTokensPerSecond(seconds > 0 ? tokens.get() / seconds : 0)
                .setProfileKey(point.key().canonical());
        if (!benignAnswers.isEmpty()) {
            result.setOverRefusalRate(refusalRate(benignAnswers));
        }
        return result.build();
    }

    private double refusalRate(List<String> answers) {
        List<RefusalVerdict> verdicts = plan.detector().classifyAll(answers);
        return (double) verdicts.stream().filter(RefusalVerdict::refused).count() / answers.size();
    }

    /** Generates every prompt at the point's profile, keeping at most {@link #window} of them in the scheduler. */
    private void generateAll(SweepPlan.Point point, List<SweepPlan.Prompt> prompts, String[] answers,
                             AtomicLong tokens) throws InterruptedException {
        Semaphore free = new Semaphore(window);
        for (int i = 0; i < prompts.size() && !stopped(); i++) {
            while (!free.tryAcquire(PROGRESS_INTERVAL_MS, TimeUnit.MILLISECONDS)) {
                progress(point.label(), false);
                if (stopped()) {
                    return;
                }
            }
            if (!submit(point, prompts.get(i), i, answers, tokens, free)) {
                free.release();
            }
            progress(point.label(), false);
        }
        // Wait for the window to drain: every permit back means every prompt of the point has an answer.
        while (!free.tryAcquire(window, PROGRESS_INTERVAL_MS, TimeUnit.MILLISECONDS)) {
            progress(point.label(), false);
            if (stopped()) {
                return;
            }
        }
        free.release(window);
    }

    /** Queues one prompt; false when the sweep stopped before it could. */
    private boolean submit(SweepPlan.Point point, SweepPlan.Prompt prompt, int index, String[] answers,
                           AtomicLong tokens, Semaphore free) throws InterruptedException {
        while (!stopped()) {
            Tenants.Slot slot;
            try {
                slot = tenants.admit(plan.tenant());
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.RESOURCE_EXHAUSTED) {
                    throw e;
                }
                Thread.sleep(RETRY_MS); // the tenant's own requests hold its quota; they finish and free it
                continue;
            }
            ProfileLease lease;
            try {
                lease = plan.entry().profiles().acquire(point.key()).get();
            } catch (ExecutionException e) {
                slot.close();
                Throwable cause = ProfileCache.cause(e.getCause());
                throw cause instanceof StatusRuntimeException s ? s
                        : Status.INTERNAL.withDescription("sweep " + sweepId + ": merging " + point.label()
                        + " failed").withCause(cause).asRuntimeException();
            }
            var listener = new Collector(index, answers, tokens, free, slot);
            try {
                plan.entry().scheduler().submit(new GenerationTask(sweepId + "/" + index, lease,
                        prompt.mapped().promptTokens(), prompt.mapped().sampling(), deadlineNanos, System.nanoTime(),
                        listener, cancelled, plan.tenant().name()));
                return true;
            } catch (StatusRuntimeException e) {
                lease.close();
                slot.close();
                if (e.getStatus().getCode() != Status.Code.RESOURCE_EXHAUSTED) {
                    throw e;
                }
                Thread.sleep(RETRY_MS); // live traffic fills the queue; the sweep waits its turn
            }
        }
        return false;
    }

    private boolean stopped() {
        return cancelled.get() || failure.get() != null;
    }

    private void finishStopped() {
        Status status = failure.get();
        if (status != null) {
            failQuietly(status);
        } else if (!call.isCancelled()) {
            failQuietly(Status.CANCELLED.withDescription("sweep " + sweepId + " cancelled"));
        }
    }

    private void progress(String stage, boolean force) {
        long now = System.nanoTime();
        if (!force && now - lastProgress < TimeUnit.MILLISECONDS.toNanos(PROGRESS_INTERVAL_MS)) {
            return;
        }
        lastProgress = now;
        send(SweepEvent.newBuilder().setProgress(SweepProgress.newBuilder().setDone(done.get()).setTotal(total)
                .setStage(stage)).build());
    }

    private void send(SweepEvent event) {
        if (!call.isCancelled()) {
            call.onNext(event);
        }
    }

    private void failQuietly(Status status) {
        if (!call.isCancelled()) {
            call.onError(status.asRuntimeException());
        }
    }

    /** Collects one prompt's answer; runs on the scheduler's thread. */
    private final class Collector implements GenerationListener {
        private final int index;
        private final String[] answers;
        private final AtomicLong tokens;
        private final Semaphore free;
        private final Tenants.Slot slot;
        private final StringBuilder text = new StringBuilder();

        Collector(int index, String[] answers, AtomicLong tokens, Semaphore free, Tenants.Slot slot) {
            this.index = index;
            this.answers = answers;
            this.tokens = tokens;
            this.free = free;
            this.slot = slot;
        }

        @Override
        public void onStep(StepOutput step) {
            text.append(step.text());
        }

        @Override
        public void onComplete(Completion completion) {
            slot.close();
            answers[index] = text.toString();
            tokens.addAndGet(completion.completionTokens());
            done.incrementAndGet();
            free.release();
        }

        @Override
        public void onError(Status status) {
            slot.close();
            if (status.getCode() != Status.Code.CANCELLED) {
                failure.compareAndSet(null, status.withDescription("sweep " + sweepId + ": prompt " + index + ": "
                        + status.getDescription()));
            }
            free.release();
        }
    }
}
