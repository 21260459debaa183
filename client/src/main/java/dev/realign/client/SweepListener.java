package dev.realign.client;

import dev.realign.api.v1.SweepPoint;
import dev.realign.api.v1.SweepProgress;
import dev.realign.api.v1.SweepRecommendation;

/**
 * Receives a sweep's events as they arrive, on a gRPC thread, one at a time. Every method does nothing by
 * default, so a caller overrides only what it shows. The handle collects points and the recommendation on
 * its own; a listener is for showing them early (a progress bar, a live table).
 *
 * <p>An exception thrown here cancels the sweep on the server and fails {@link SweepHandle#await()} with it.
 */
public interface SweepListener {

    /** A listener that shows nothing; {@link SweepHandle#await()} still returns everything. */
    SweepListener NONE = new SweepListener() {
    };

    default void onProgress(SweepProgress progress) {
    }

    default void onPoint(SweepPoint point) {
    }

    default void onRecommendation(SweepRecommendation recommendation) {
    }
}
