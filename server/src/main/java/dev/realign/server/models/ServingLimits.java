package dev.realign.server.models;

/**
 * How much one served model may take on at once.
 *
 * @param maxBatch         sequences stepped together
 * @param queueCapacity    requests waiting before RESOURCE_EXHAUSTED
 * @param profileCacheMiB  merged-profile memory kept resident
 * @param concurrentMerges merges running at once
 * @param queuedMerges     merges waiting before RESOURCE_EXHAUSTED
 */
public record ServingLimits(int maxBatch, int queueCapacity, long profileCacheMiB, int concurrentMerges,
                            int queuedMerges) {
    public static final ServingLimits DEFAULTS = new ServingLimits(8, 64, 4096, 1, 16);

    public ServingLimits {
        if (maxBatch < 1 || queueCapacity < 1 || profileCacheMiB < 0 || concurrentMerges < 1 || queuedMerges < 1) {
            throw new IllegalArgumentException("serving limits must be positive: max batch " + maxBatch + ", queue "
                    + queueCapacity + ", profile cache MiB " + profileCacheMiB + ", merges " + concurrentMerges
                    + ", queued merges " + queuedMerges);
        }
    }
}
