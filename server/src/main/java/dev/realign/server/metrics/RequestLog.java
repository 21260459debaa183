package dev.realign.server.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One JSON line per request on the {@value #LOGGER} logger. The prompt is user data the operator may not be
 * allowed to retain, so it is written only when the operator opts in.
 */
public final class RequestLog implements RequestObserver {
    public static final String LOGGER = "realign.requests";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Logger log;
    private final boolean logPrompts;
    private final Clock clock;

    public RequestLog(boolean logPrompts) {
        this(LoggerFactory.getLogger(LOGGER), logPrompts, Clock.systemUTC());
    }

    RequestLog(Logger log, boolean logPrompts, Clock clock) {
        this.log = log;
        this.logPrompts = logPrompts;
        this.clock = clock;
    }

    @Override
    public void onFinished(RequestRecord record) {
        if (log.isInfoEnabled()) {
            log.info(line(record));
        }
    }

    /** The JSON line of a request (no trailing newline). */
    String line(RequestRecord r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("time", clock.instant().toString());
        o.put("request_id", r.requestId());
        o.put("tenant", r.tenant());
        o.put("model", r.model());
        o.put("profile_key", r.profileKey());
        o.put("adapters", r.adapters());
        o.put("status", r.status().name());
        o.put("finish_reason", r.finishReason());
        o.put("prompt_tokens", r.promptTokens());
        o.put("completion_tokens", r.completionTokens());
        putMillis(o, "ttft_ms", r.timeToFirstTokenMs());
        putMillis(o, "total_ms", r.totalTimeMs());
        putMillis(o, "merge_ms", r.mergeTimeMs());
        if (r.verdict() != null) {
            o.put("refused", r.verdict().refused());
            o.put("refusal_detector", r.verdict().detector());
        } else {
            o.putNull("refused");
        }
        if (logPrompts && r.prompt() != null) {
            o.put("prompt", r.prompt());
        }
        return o.toString();
    }

    /** Milliseconds rounded to microseconds; JSON has no NaN, so an unreached time is null. */
    private static void putMillis(ObjectNode o, String field, double ms) {
        if (Double.isNaN(ms)) {
            o.putNull(field);
        } else {
            o.put(field, Math.round(ms * 1000) / 1000.0);
        }
    }
}
