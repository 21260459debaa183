package dev.realign.merge;

import ai.djl.ndarray.NDManager;
import dev.realign.model.Weights;
import java.time.Duration;
import java.util.List;

/**
 * A model as one profile serves it: a copy-on-write {@link Weights} view whose new tensors (only those the
 * adapters touch) live in this profile's own manager. Closing the profile frees exactly those tensors and
 * then releases what it holds (adapter versions whose LoRA factors an unmerged view reads); the base's
 * tensors stay. The profile cache closes it once no running sequence holds a lease on it.
 *
 * @param manager owner of the merged tensors; null when nothing was materialized (base, unmerged LoRA)
 * @param bytes   native bytes of the merged tensors (what the cache weighs)
 * @param holds   released after the manager closes
 */
public record MergedProfile(ProfileKey key, Weights weights, NDManager manager, long bytes, Duration mergeTime,
                            List<? extends AutoCloseable> holds) implements AutoCloseable {
    public MergedProfile {
        holds = List.copyOf(holds);
    }

    public static MergedProfile unmerged(ProfileKey key, Weights weights) {
        return new MergedProfile(key, weights, null, 0, Duration.ZERO, List.of());
    }

    /** Whether the weights are the base's plus unmerged LoRA terms (no tensor materialized). */
    public boolean isUnmerged() {
        return manager == null;
    }

    @Override
    public void close() {
        if (manager != null) {
            manager.close();
        }
        for (AutoCloseable hold : holds) {
            try {
                hold.close();
            } catch (Exception e) {
                throw new IllegalStateException("releasing " + hold + " of profile " + key, e);
            }
        }
    }
}
