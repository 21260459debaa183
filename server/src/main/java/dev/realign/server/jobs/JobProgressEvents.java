package dev.realign.server.jobs;

import dev.realign.api.v1.JobProgress;

/** Progress messages of the stages every job kind shares. */
final class JobProgressEvents {
    private JobProgressEvents() {}

    /** A stage without a layer or tensor ("queued", "loading", "writing", "registering"). */
    static JobProgress stage(String stage, int layers, double fraction, String detail) {
        return JobProgress.newBuilder().setStage(stage).setLayer(-1).setLayers(layers).setFraction(fraction)
                .setDetail(detail).build();
    }
}
