package dev.realign.safety.sweep;

/**
 * What a sweep measured at one merge method and ratio.
 *
 * @param refusalRate     share of harmful prompts refused, 0..1
 * @param overRefusalRate share of benign prompts refused, 0..1; NaN when the sweep had no benign set
 * @param taskScore       share of task prompts answered correctly, 0..1
 */
public record RatioPoint(String method, double ratio, double refusalRate, double overRefusalRate, double taskScore) {
}
