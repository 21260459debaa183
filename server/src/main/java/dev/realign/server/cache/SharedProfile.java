package dev.realign.server.cache;

import dev.realign.merge.MergedProfile;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A cached profile with a reference count: the cache holds one reference while the entry is resident, and
 * each lease one more. The profile's tensors are freed when the count reaches zero, so eviction never frees
 * weights that a running sequence uses.
 */
final class SharedProfile {
    private final MergedProfile profile;
    private final AtomicInteger references;

    /** @param pinned true for profiles that must never be freed (the base model's own weights) */
    SharedProfile(MergedProfile profile, boolean pinned) {
        this.profile = profile;
        this.references = new AtomicInteger(pinned ? Integer.MAX_VALUE / 2 : 1);
    }

    MergedProfile profile() {
        return profile;
    }

    /** Takes a reference unless the profile is already freed (lost a race with its eviction). */
    boolean retain() {
        while (true) {
            int current = references.get();
            if (current == 0) {
                return false;
            }
            if (references.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    void release() {
        if (references.decrementAndGet() == 0) {
            profile.close();
        }
    }

    int references() {
        return references.get();
    }
}
