package dev.realign.safety;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The detectors a process has configured, by name, and which one answers when a caller names none. It owns
 * them: {@link #close()} frees every detector's native resources.
 */
public final class RefusalDetectors implements AutoCloseable {
    private final Map<String, RefusalDetector> byName = new LinkedHashMap<>();
    private final String defaultName;

    /**
     * @param defaultName the detector used when a request names none; must be one of {@code detectors}
     * @throws IllegalArgumentException on two detectors with one name or an unknown default
     */
    public RefusalDetectors(String defaultName, List<RefusalDetector> detectors) {
        for (RefusalDetector detector : detectors) {
            if (byName.putIfAbsent(detector.name(), detector) != null) {
                throw new IllegalArgumentException("two refusal detectors are named '" + detector.name() + "'");
            }
        }
        if (!byName.containsKey(defaultName)) {
            throw new IllegalArgumentException("default refusal detector '" + defaultName
                    + "' is not configured; configured: " + byName.keySet());
        }
        this.defaultName = defaultName;
    }

    /** Only the keyword detector: what a server runs unless configured otherwise. */
    public static RefusalDetectors keywordOnly() {
        return new RefusalDetectors(KeywordDetector.NAME, List.of(new KeywordDetector()));
    }

    /**
     * The detector named {@code name}, or the default for an empty name.
     *
     * @throws IllegalArgumentException naming the configured detectors when there is none of that name
     */
    public RefusalDetector get(String name) {
        if (name == null || name.isEmpty()) {
            return byName.get(defaultName);
        }
        RefusalDetector detector = byName.get(name);
        if (detector == null) {
            throw new IllegalArgumentException("unknown refusal detector '" + name + "'; configured: "
                    + byName.keySet());
        }
        return detector;
    }

    public RefusalDetector defaultDetector() {
        return byName.get(defaultName);
    }

    public Set<String> names() {
        return byName.keySet();
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (RefusalDetector detector : byName.values()) {
            try {
                detector.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
