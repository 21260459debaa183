package dev.realign.generate;

import java.util.List;

/**
 * Holds back streamed text that could still become a stop string, and cuts the output before the first
 * stop string found. Stop strings may span token boundaries.
 */
public final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    public StopMatcher(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /** Adds new text; returns what is now safe to emit (possibly empty). */
    public String push(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        if (stops.isEmpty()) {
            return drain(pending.length());
        }
        int first = firstStop();
        if (first >= 0) {
            // A longer stop that starts earlier may still complete ("c\n\n" while "\n" is already here):
            // until it can or cannot, only the text before it is safe.
            int earlier = pending.length() - longestStopPrefixSuffix();
            if (earlier >= first) {
                return stopAt(first);
            }
            return drain(earlier);
        }
        return drain(pending.length() - longestStopPrefixSuffix());
    }

    private int firstStop() {
        int first = -1;
        for (String stop : stops) {
            int at = pending.indexOf(stop);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        return first;
    }

    private String stopAt(int first) {
        stopped = true;
        String out = pending.substring(0, first);
        pending.setLength(0);
        return out;
    }

    /** Whether a stop string was seen: generation must end. */
    public boolean stopped() {
        return stopped;
    }

    /** The held-back text, at the end of generation when no stop string completed. */
    public String flush() {
        if (stopped) {
            return "";
        }
        // No more text: a stop that was held back for a longer, earlier candidate now applies.
        int first = firstStop();
        return first >= 0 ? stopAt(first) : drain(pending.length());
    }

    // The longest suffix of pending that is a proper prefix of some stop string must wait for more text.
    private int longestStopPrefixSuffix() {
        String text = pending.toString();
        int longest = 0;
        for (String stop : stops) {
            int max = Math.min(stop.length() - 1, text.length());
            for (int len = max; len > longest; len--) {
                if (text.regionMatches(text.length() - len, stop, 0, len)) {
                    longest = len;
                    break;
                }
            }
        }
        return longest;
    }

    private String drain(int count) {
        String out = pending.substring(0, count);
        pending.delete(0, count);
        return out;
    }
}
