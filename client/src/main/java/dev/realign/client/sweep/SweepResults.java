package dev.realign.client.sweep;

import dev.realign.api.v1.SweepPoint;
import dev.realign.api.v1.SweepRecommendation;
import java.util.List;
import java.util.Objects;

/**
 * What a finished sweep returned.
 *
 * @param points               one per (method, ratio), in the order the server sent them
 * @param recommendation       the server's last event: the best task score above the refusal floor, or why
 *                             there is none
 * @param overRefusalMeasured  whether the request had a benign set; without one the points'
 *                             {@code over_refusal_rate} is proto3's default 0, not a measurement, and the
 *                             writers leave it out
 */
public record SweepResults(List<SweepPoint> points, SweepRecommendation recommendation, boolean overRefusalMeasured) {

    public SweepResults {
        points = List.copyOf(points);
        Objects.requireNonNull(recommendation, "recommendation");
    }
}
