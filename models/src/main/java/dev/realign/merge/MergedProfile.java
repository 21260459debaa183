package dev.realign.merge;

import ai.djl.ndarray.NDManager;
import dev.realign.model.Weights;
import java.time.Duration;

/**
 * A model as one profile serves it: a copy-on-write {@link Weights} view whose new tensors (only those the
 * adapters touch) live in this profile's own manager. Closing the profile frees exactly those tensors; the
 * base's stay. The profile cache closes it once no running sequence holds a lease on it.
 *
 * @param manager owner of the merged tensors; null when nothing was materialized (base, unmerged LoRA)
 * @param bytes   native bytes of the merged tensors (what the cache weighs)
 */
public record MergedProfile(ProfileKey key, Weights weights, NDManager manager, long bytes, Duration mergeTime)
        implements AutoCloseable {
    public static MergedProfile unmerged(ProfileKey key, Weights weights) {
        return new MergedProfile(key, weights, null, 0, Duration.ZERO);
    }

    @Override
    public void close() {
        if (manager != null) {
            manager.close();
        }
    }
}
