package dev.realign.server.safety;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.safety.RefusalDetector;
import dev.realign.safety.RefusalVerdict;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class VerdictWorkerTest {
    /** Refuses everything; records the batch sizes it was called with; blocks while its gate is closed. */
    static final class Recording implements RefusalDetector {
        final List<Integer> batches = new CopyOnWriteArrayList<>();
        final CountDownLatch gate;
        final CountDownLatch entered = new CountDownLatch(1);
        volatile boolean fail;

        Recording(CountDownLatch gate) {
            this.gate = gate;
        }

        @Override
        public String name() {
            return "recording";
        }

        @Override
        public RefusalVerdict classify(String response) {
            return classifyAll(List.of(response)).getFirst();
        }

        @Override
        public List<RefusalVerdict> classifyAll(List<String> responses) {
            entered.countDown();
            try {
                gate.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (fail) {
                throw new IllegalStateException("model session lost");
            }
            batches.add(responses.size());
            return responses.stream().map(r -> new RefusalVerdict(true, name(), 0.9f)).toList();
        }
    }

    @Test
    void queuedResponsesAreClassifiedInBatches() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        Recording detector = new Recording(gate);
        try (VerdictWorker worker = new VerdictWorker(detector, 100)) {
            List<CompletableFuture<RefusalVerdict>> verdicts = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                verdicts.add(worker.classify("answer " + i));
            }
            gate.countDown();
            for (var v : verdicts) {
                assertThat(v.get(10, TimeUnit.SECONDS).detector()).isEqualTo("recording");
            }
            // The first response may be taken alone while the rest queue behind the closed gate.
            assertThat(detector.batches).hasSizeLessThanOrEqualTo(3).allMatch(n -> n <= VerdictWorker.MAX_BATCH);
            assertThat(worker.fallbacks()).isZero();
        }
    }

    @Test
    void aFullQueueOrAFailingDetectorFallsBackToKeywords() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        Recording detector = new Recording(gate);
        try (VerdictWorker worker = new VerdictWorker(detector, 2)) {
            List<CompletableFuture<RefusalVerdict>> verdicts = new ArrayList<>();
            verdicts.add(worker.classify("I'm sorry, no."));
            assertThat(detector.entered.await(10, TimeUnit.SECONDS)).isTrue(); // the worker is busy with it
            for (int i = 1; i < 6; i++) {
                verdicts.add(worker.classify(i % 2 == 0 ? "I'm sorry, no." : "Sure."));
            }
            // Two fit the queue behind the busy worker; the last three were answered at once by keywords.
            assertThat(verdicts).extracting(CompletableFuture::isDone)
                    .containsExactly(false, false, false, true, true, true);
            assertThat(verdicts.stream().filter(CompletableFuture::isDone).map(CompletableFuture::join))
                    .allSatisfy(v -> assertThat(v.detector()).isEqualTo("keyword"));
            detector.fail = true;
            gate.countDown();
            for (int i = 0; i < verdicts.size(); i++) {
                RefusalVerdict v = verdicts.get(i).get(10, TimeUnit.SECONDS);
                assertThat(v.detector()).isEqualTo("keyword");
                assertThat(v.refused()).isEqualTo(i % 2 == 0);
            }
            assertThat(worker.fallbacks()).isEqualTo(6);
        }
    }

    @Test
    void closingAnswersWhatIsLeft() throws Exception {
        Recording detector = new Recording(new CountDownLatch(0));
        VerdictWorker worker = new VerdictWorker(detector, 10);
        worker.close();
        assertThat(worker.classify("I cannot do that").get(1, TimeUnit.SECONDS).detector()).isEqualTo("keyword");
    }
}
