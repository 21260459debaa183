package dev.realign.client;

import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.SweepEvent;
import dev.realign.api.v1.SweepPoint;
import dev.realign.api.v1.SweepProgress;
import dev.realign.api.v1.SweepRecommendation;

/** Scripted sweep events for the fake server, shaped like the server's. */
public final class SweepEvents {

    private SweepEvents() {
    }

    public static SweepPoint point(MergeMethod method, double ratio, double refusal, double overRefusal, double task) {
        return SweepPoint.newBuilder().setMethod(method).setRatio(ratio).setRefusalRate(refusal)
                .setOverRefusalRate(overRefusal).setTaskScore(task).setTokensPerSecond(123.5)
                .setProfileKey(method.name().toLowerCase() + ":task-lora@" + ratio).build();
    }

    public static SweepEvent progress(int done, int total, String stage) {
        return SweepEvent.newBuilder().setProgress(SweepProgress.newBuilder().setDone(done).setTotal(total)
                .setStage(stage)).build();
    }

    public static SweepEvent event(SweepPoint point) {
        return SweepEvent.newBuilder().setPoint(point).build();
    }

    public static SweepEvent recommend(SweepPoint point) {
        return SweepEvent.newBuilder().setRecommendation(SweepRecommendation.newBuilder().setFound(true)
                .setPoint(point)).build();
    }

    public static SweepEvent noRecommendation(String reason) {
        return SweepEvent.newBuilder().setRecommendation(SweepRecommendation.newBuilder().setFound(false)
                .setReason(reason)).build();
    }

    /**
     * A whole LINEAR + TIES sweep over ratios 0, 0.5, 1 with progress, ending in a recommendation of
     * LINEAR at 0.5.
     */
    public static SweepEvent[] twoMethods() {
        var linear0 = point(MergeMethod.LINEAR, 0, 0.95, 0.10, 0.0);
        var linear5 = point(MergeMethod.LINEAR, 0.5, 0.90, 0.05, 0.70);
        var linear1 = point(MergeMethod.LINEAR, 1, 0.10, 0.0, 1.0);
        var ties0 = point(MergeMethod.TIES, 0, 0.95, 0.10, 0.0);
        var ties5 = point(MergeMethod.TIES, 0.5, 0.60, 0.05, 0.80);
        var ties1 = point(MergeMethod.TIES, 1, 0.05, 0.0, 1.0);
        return new SweepEvent[] {
            progress(0, 12, "LINEAR r=0 harmful"), event(linear0), event(linear5), event(linear1),
            progress(6, 12, "TIES r=0.5 task"), event(ties0), event(ties5), event(ties1),
            progress(12, 12, "done"), recommend(linear5)};
    }
}
