package dev.realign.server.safety;

import dev.realign.safety.KeywordDetector;
import dev.realign.safety.RefusalDetector;
import dev.realign.safety.RefusalVerdict;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives finished responses their refusal verdicts on its own thread, so that a learned detector (milliseconds
 * per response) never runs on a scheduler's decode loop. Responses that finish close together are classified
 * as one batch. When the queue is full or the detector fails, the response gets the keyword detector's verdict
 * (its {@code detector} field says so) rather than waiting: a verdict must never hold a stream open.
 */
public final class VerdictWorker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VerdictWorker.class);
    /** Enough to amortize a learned detector's forward pass; larger batches only add latency. */
    static final int MAX_BATCH = 32;

    private record Pending(String text, CompletableFuture<RefusalVerdict> verdict) {
    }

    private final RefusalDetector detector;
    private final RefusalDetector fallback = new KeywordDetector();
    private final BlockingQueue<Pending> queue;
    private final Thread thread;
    private final AtomicLong fallbacks = new AtomicLong();
    private volatile boolean closed;

    /**
     * @param detector      the server's default detector (not owned: the server's detector registry closes it)
     * @param queueCapacity responses waiting for a verdict before new ones fall back to the keyword detector
     */
    public VerdictWorker(RefusalDetector detector, int queueCapacity) {
        this.detector = detector;
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.thread = Thread.ofPlatform().name("verdicts").daemon(true).start(this::run);
    }

    /** The verdict on a finished response, completed on the worker's thread (at once when it falls back). */
    public CompletableFuture<RefusalVerdict> classify(String text) {
        var pending = new Pending(text, new CompletableFuture<>());
        if (closed || !queue.offer(pending)) {
            if (fallbacks.getAndIncrement() % 1000 == 0) {
                log.warn("refusal detector '{}' is {}: keyword verdicts instead ({} so far)", detector.name(),
                        closed ? "closed" : "behind (queue full)", fallbacks.get());
            }
            pending.verdict().complete(fallback.classify(text));
        }
        return pending.verdict();
    }

    /** Responses that got the keyword detector's verdict because the configured one was behind or failed. */
    public long fallbacks() {
        return fallbacks.get();
    }

    public String detectorName() {
        return detector.name();
    }

    private void run() {
        List<Pending> batch = new ArrayList<>(MAX_BATCH);
        while (!closed || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                classifyBatch(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } finally {
                batch.clear();
            }
        }
        // Whatever is left when the thread is told to stop still gets an answer.
        for (Pending p = queue.poll(); p != null; p = queue.poll()) {
            p.verdict().complete(fallback.classify(p.text()));
        }
    }

    private void classifyBatch(List<Pending> batch) {
        List<RefusalVerdict> verdicts;
        try {
            verdicts = detector.classifyAll(batch.stream().map(Pending::text).toList());
        } catch (RuntimeException e) {
            log.error("refusal detector '{}' failed on a batch of {}: keyword verdicts for it", detector.name(),
                    batch.size(), e);
            fallbacks.addAndGet(batch.size());
            batch.forEach(p -> p.verdict().complete(fallback.classify(p.text())));
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).verdict().complete(verdicts.get(i));
        }
    }

    /** Finishes the queued responses, then stops the thread. */
    @Override
    public void close() {
        closed = true;
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            thread.interrupt();
        }
    }
}
