package dev.realign.server.cli;

import dev.realign.safety.KeywordDetector;
import dev.realign.safety.RefusalDetector;
import dev.realign.safety.RefusalDetectors;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Which refusal detectors a server loads, and which one gives every response its verdict. */
final class DetectorOptions {
    @Option(names = "--detector", defaultValue = KeywordDetector.NAME,
            description = "Detector that judges every response (default: ${DEFAULT-VALUE})")
    String defaultDetector;

    /** The configured detectors; the caller owns them (a server closes them when it stops). */
    RefusalDetectors load() {
        List<RefusalDetector> detectors = new ArrayList<>();
        detectors.add(new KeywordDetector());
        try {
            return new RefusalDetectors(defaultDetector, detectors);
        } catch (IllegalArgumentException e) {
            detectors.forEach(RefusalDetector::close);
            throw new IllegalArgumentException("--detector: " + e.getMessage(), e);
        }
    }
}
