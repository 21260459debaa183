package dev.realign.server.metrics;

import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Told once about every Generate call when it ends. Called on the thread that ended the request (often the
 * scheduler's engine thread), after the client got its last message, so an implementation must be quick
 * and must not block.
 */
@FunctionalInterface
public interface RequestObserver {
    RequestObserver NONE = record -> { };

    void onFinished(RequestRecord record);

    /** Tells each observer in turn; one that throws is logged and does not keep the others from hearing. */
    static RequestObserver all(List<RequestObserver> observers) {
        List<RequestObserver> copy = List.copyOf(observers);
        Logger log = LoggerFactory.getLogger(RequestObserver.class);
        return record -> {
            for (RequestObserver observer : copy) {
                try {
                    observer.onFinished(record);
                } catch (RuntimeException e) {
                    log.warn("request {}: observer {} failed", record.requestId(), observer, e);
                }
            }
        };
    }
}
