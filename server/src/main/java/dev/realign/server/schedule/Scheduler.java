package dev.realign.server.schedule;

import ai.djl.ndarray.NDManager;
import dev.realign.generate.DecodeStep;
import dev.realign.generate.Sequence;
import dev.realign.generate.StepOutput;
import dev.realign.model.KvCache;
import dev.realign.model.LoadedModel;
import dev.realign.model.Weights;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching for one model: a single engine thread steps every running sequence together; new
 * requests join at step boundaries and finished, cancelled or expired ones leave. The waiting queue is
 * bounded and shared fairly between tenants ({@link FairQueue}): free batch slots go round-robin across
 * tenants, and when the queue is full a tenant under its share pushes out the newest request of the tenant
 * holding the most, while a tenant at its share is refused at once (RESOURCE_EXHAUSTED) rather than left
 * waiting.
 */
public final class Scheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    private final LoadedModel model;
    private final DecodeStep decodeStep;
    private final int maxBatch;
    private final FairQueue<GenerationTask> waiting;
    // Requests pushed out of the full queue by a tenant under its share; failed on the engine thread, which
    // owns every listener call.
    private final Queue<PushedOut> pushedOut = new ConcurrentLinkedQueue<>();
    private final List<Running> running = new ArrayList<>();
    private final Thread loop;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean accepting = true;
    private volatile boolean draining;
    private volatile boolean stopNow;
    private volatile int active; // running.size(), published for observers on other threads

    private record PushedOut(GenerationTask task, FairQueue.Share share) {
    }

    private record Running(GenerationTask task, Sequence sequence, long[] firstTokenNanos) {
        /** Frees the sequence's KV cache and its hold on the profile's weights. */
        void release() {
            try {
                sequence.close();
            } finally {
                task.profile().close();
            }
        }
    }

    public Scheduler(LoadedModel model, int maxBatch, int queueCapacity) {
        if (maxBatch < 1 || queueCapacity < 1) {
            throw new IllegalArgumentException("max batch and queue capacity must be >= 1");
        }
        this.model = model;
        this.decodeStep = new DecodeStep(model.model());
        this.maxBatch = maxBatch;
        this.waiting = new FairQueue<>(queueCapacity, GenerationTask::tenant);
        this.loop = Thread.ofPlatform().name("scheduler-" + model.id()).daemon(true).unstarted(this::run);
        loop.start();
    }

    /**
     * Queues a request; an error status when the server drains, or when the queue is full and the request's
     * tenant already holds its share of it (RESOURCE_EXHAUSTED naming the tenant and its share).
     */
    public void submit(GenerationTask task) {
        if (!accepting) {
            throw Status.UNAVAILABLE.withDescription("server is shutting down").asRuntimeException();
        }
        switch (waiting.offer(task)) {
            case FairQueue.Offer.Refused<GenerationTask> refused -> throw Status.RESOURCE_EXHAUSTED.withDescription(
                    "model '" + model.id() + "' queue is full: " + refused.share().describe() + "; retry later")
                    .asRuntimeException();
            case FairQueue.Offer.Queued<GenerationTask> queued ->
                    queued.pushedOut().ifPresent(out -> pushedOut.add(new PushedOut(out, queued.share())));
        }
        // The loop may have ended between the check above and the offer: nobody would read the queue now.
        if (stopped.getCount() == 0) {
            failPushedOut();
            if (waiting.remove(task)) {
                throw Status.UNAVAILABLE.withDescription("server is shutting down").asRuntimeException();
            }
        }
    }

    /** Most sequences decoded together in one step. */
    public int maxBatch() {
        return maxBatch;
    }

    public int queueDepth() {
        return waiting.size();
    }

    /** Requests waiting per tenant (0 for tenants that have waited before). */
    public Map<String, Integer> queueDepthByTenant() {
        return waiting.depthByTenant();
    }

    /** Sequences holding a KV cache right now. */
    public int runningCount() {
        return active;
    }

    private void run() {
        try {
            while (!stopNow && !(draining && running.isEmpty() && waiting.isEmpty())) {
                try {
                    iterate();
                } catch (RuntimeException e) {
                    // A bug must not kill the engine thread: fail what is in flight and keep serving.
                    log.error("scheduler iteration failed", e);
                    failAll(Status.INTERNAL.withDescription("internal scheduler error: " + e.getMessage()));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Error e) {
            log.error("scheduler thread dies", e);
            throw e;
        } finally {
            accepting = false; // whatever ended the loop, nothing may queue behind it any more
            try {
                failAll(Status.UNAVAILABLE.withDescription("server stopped"));
            } finally {
                stopped.countDown();
            }
        }
    }

    /** One pass: admit waiting requests at the step boundary, drop abandoned ones, step the rest. */
    private void iterate() throws InterruptedException {
        failPushedOut();
        if (running.isEmpty()) {
            GenerationTask next = waiting.poll(50, TimeUnit.MILLISECONDS);
            if (next == null) {
                return;
            }
            admit(next);
        }
        GenerationTask more;
        while (running.size() < maxBatch && (more = waiting.poll()) != null) {
            admit(more);
        }
        dropAbandoned();
        active = running.size();
        if (!running.isEmpty()) {
            step();
        }
        active = running.size();
    }

    private void admit(GenerationTask task) {
        int capacity = Math.min(model.config().maxPositions(), task.promptTokens().length + task.sampling().maxTokens());
        KvCache cache = null;
        try {
            cache = new KvCache(model.config(), capacity, model.manager());
            Sequence sequence = new Sequence(task.promptTokens(), cache, task.sampling(),
                    model.newTextStream(), model.endTokens());
            running.add(new Running(task, sequence, new long[] {0}));
        } catch (RuntimeException e) {
            if (cache != null) {
                cache.close();
            }
            task.profile().close();
            log.error("request {}: cannot start sequence", task.requestId(), e);
            deliverError(task, Status.INTERNAL.withDescription("cannot start sequence for request "
                    + task.requestId() + ": " + e.getMessage()));
        }
    }

    /** Ends cancelled and expired requests, running or still queued, so they free their slot at once. */
    private void dropAbandoned() {
        long now = System.nanoTime();
        for (Iterator<Running> it = running.iterator(); it.hasNext(); ) {
            Running r = it.next();
            Status status = abandonment(r.task(), now, r.sequence().generatedTokens());
            if (status != null) {
                it.remove();
                try {
                    r.release();
                } finally {
                    deliverError(r.task(), status);
                }
            }
        }
        for (GenerationTask queued : waiting.snapshot()) {
            Status status = abandonment(queued, now, 0);
            if (status != null && waiting.remove(queued)) {
                try {
                    queued.profile().close();
                } finally {
                    deliverError(queued, status);
                }
            }
        }
    }

    /** Fails the requests a tenant under its queue share pushed out (each is taken from the queue once). */
    private void failPushedOut() {
        PushedOut out;
        while ((out = pushedOut.poll()) != null) {
            GenerationTask task = out.task();
            try {
                task.profile().close();
            } finally {
                deliverError(task, Status.RESOURCE_EXHAUSTED.withDescription("request " + task.requestId()
                        + " was pushed out of model '" + model.id() + "' queue by a tenant under its share: "
                        + out.share().describe() + "; retry later"));
            }
        }
    }

    /** Why a request must end now, or null. A deadline is checked first: gRPC also cancels on expiry. */
    private static Status abandonment(GenerationTask task, long now, int tokens) {
        if (task.expired(now)) {
            return Status.DEADLINE_EXCEEDED.withDescription("request " + task.requestId()
                    + " passed its deadline after " + tokens + " tokens");
        }
        if (task.cancelled().get()) {
            return Status.CANCELLED.withDescription("request " + task.requestId() + " cancelled by the client");
        }
        return null;
    }

    /**
     * Advances every running sequence by one token. Rows whose weights share their tensors share one forward:
     * the base and every unmerged-LoRA profile over it (each row adds its own adapters), or the rows of one
     * materialized profile. Different tensors (merged profiles) run one after another within the step.
     */
    private void step() {
        Map<Weights, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < running.size(); i++) {
            groups.computeIfAbsent(weights(running.get(i)).withoutLora(), w -> new ArrayList<>()).add(i);
        }
        StepOutput[] outputs = new StepOutput[running.size()];
        for (var group : groups.entrySet()) {
            List<Sequence> sequences = group.getValue().stream().map(i -> running.get(i).sequence()).toList();
            List<Weights> weights = group.getValue().stream().map(i -> weights(running.get(i))).toList();
            List<StepOutput> out;
            try {
                out = decodeStep.run(weights, sequences, model.manager());
            } catch (RuntimeException e) {
                // Only this group's rows fail; other groups' rows keep their step.
                List<Running> failed = group.getValue().stream().map(running::get).toList();
                String ids = String.join(",", failed.stream().map(r -> r.task().requestId()).toList());
                log.error("engine step failed for requests [{}]", ids, e);
                Status status = Status.INTERNAL.withDescription("engine step failed (requests " + ids + ")");
                for (Running r : failed) {
                    try {
                        r.release();
                    } finally {
                        deliverError(r.task(), status);
                    }
                }
                continue;
            }
            for (int j = 0; j < out.size(); j++) {
                outputs[group.getValue().get(j)] = out.get(j);
            }
        }
        deliver(outputs);
    }

    private static Weights weights(Running r) {
        return r.task().profile().profile().weights();
    }

    private void deliver(StepOutput[] outputs) {
        long now = System.nanoTime();
        List<Running> failed = new ArrayList<>();
        for (int i = outputs.length - 1; i >= 0; i--) {
            Running r = running.get(i);
            StepOutput out = outputs[i];
            if (out == null) {
                failed.add(r); // its group's forward failed and was answered already
                continue;
            }
            if (r.firstTokenNanos()[0] == 0) {
                r.firstTokenNanos()[0] = now;
            }
            try {
                r.task().listener().onStep(out);
                if (out.finished()) {
                    running.remove(i);
                    r.release();
                    GenerationTask t = r.task();
                    t.listener().onComplete(new Completion(out.finish(), t.promptTokens().length,
                            r.sequence().generatedTokens(), millis(r.firstTokenNanos()[0] - t.arrivalNanos()),
                            millis(now - t.arrivalNanos()), t.sampling().seed()));
                }
            } catch (RuntimeException e) {
                // A failing listener ends its own request only; every other sequence goes on.
                log.error("request {}: delivering a token failed", r.task().requestId(), e);
                if (running.remove(r)) {
                    r.release();
                }
                deliverError(r.task(), Status.INTERNAL.withDescription("internal error (request "
                        + r.task().requestId() + ")"));
            }
        }
        forgetFailed(failed);
    }

    private void forgetFailed(List<Running> failed) {
        running.removeAll(failed);
    }

    private static void deliverError(GenerationTask task, Status status) {
        try {
            task.listener().onError(status);
        } catch (RuntimeException e) {
            log.warn("request {}: could not deliver {}", task.requestId(), status.getCode(), e);
        }
    }

    private void failAll(Status status) {
        for (Running r : running) {
            try {
                r.release();
            } catch (RuntimeException e) {
                log.warn("request {}: releasing its sequence failed", r.task().requestId(), e);
            } finally {
                deliverError(r.task(), status);
            }
        }
        running.clear();
        active = 0;
        failPushedOut();
        GenerationTask queued;
        while ((queued = waiting.poll()) != null) {
            try {
                queued.profile().close();
            } catch (RuntimeException e) {
                log.warn("request {}: releasing its profile failed", queued.requestId(), e);
            } finally {
                deliverError(queued, status);
            }
        }
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }

    /** Stops accepting requests and waits until the running and queued ones finish. */
    public boolean drain(Duration timeout) throws InterruptedException {
        accepting = false;
        draining = true;
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Stops at once: running requests fail with UNAVAILABLE at the next step boundary. Returns only when the
     * engine thread has stopped, so the model's weights may be freed after it.
     */
    @Override
    public void close() {
        accepting = false;
        draining = true;
        stopNow = true;
        loop.interrupt();
        try {
            loop.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
