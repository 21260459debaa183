package dev.realign.server.cache;

import dev.realign.merge.MergedProfile;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A running sequence's hold on a profile's weights. While any lease is open the profile's tensors stay
 * alive, even if the cache has evicted it; closing the last reference frees them. Close exactly once
 * (further closes are ignored).
 */
public final class ProfileLease implements AutoCloseable {
    private final SharedProfile shared;
    private final AtomicBoolean closed = new AtomicBoolean();

    ProfileLease(SharedProfile shared) {
        this.shared = shared;
    }

    public MergedProfile profile() {
        return shared.profile();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            shared.release();
        }
    }
}
