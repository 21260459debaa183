package dev.realign.safety;

/**
 * Whether a response refuses, by which detector, with its score (1 or 0 for rule-based detectors, a
 * probability for learned ones).
 */
public record RefusalVerdict(boolean refused, String detector, float score) {
}
