package dev.realign.safety;

import java.util.ArrayList;
import java.util.List;

/**
 * Decides whether a model's response refuses the request. Implementations are thread-safe; learned ones own
 * native sessions and free them in {@link #close()}.
 */
public interface RefusalDetector extends AutoCloseable {
    /** The name clients select it by. */
    String name();

    RefusalVerdict classify(String response);

    /**
     * Verdicts for several responses, in order. Learned detectors override this to run one batched forward
     * pass instead of one per response.
     */
    default List<RefusalVerdict> classifyAll(List<String> responses) {
        List<RefusalVerdict> verdicts = new ArrayList<>(responses.size());
        for (String response : responses) {
            verdicts.add(classify(response));
        }
        return verdicts;
    }

    /** Frees what the detector holds (native sessions); rule-based detectors hold nothing. */
    @Override
    default void close() {
    }
}
