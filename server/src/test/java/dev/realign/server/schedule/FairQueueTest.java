package dev.realign.server.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The queue's two rules, on plain strings whose first letter is the tenant. */
class FairQueueTest {
    private static FairQueue<String> queue(int capacity) {
        return new FairQueue<>(capacity, item -> item.substring(0, 1));
    }

    private static List<String> drain(FairQueue<String> queue) {
        List<String> out = new ArrayList<>();
        String next;
        while ((next = queue.poll()) != null) {
            out.add(next);
        }
        return out;
    }

    private static Optional<String> queued(FairQueue.Offer<String> offer) {
        assertThat(offer).isInstanceOf(FairQueue.Offer.Queued.class);
        return ((FairQueue.Offer.Queued<String>) offer).pushedOut();
    }

    private static FairQueue.Share refused(FairQueue.Offer<String> offer) {
        assertThat(offer).isInstanceOf(FairQueue.Offer.Refused.class);
        return ((FairQueue.Offer.Refused<String>) offer).share();
    }

    @Test
    void takingIsRoundRobinAcrossTenantsAndFifoWithinOne() {
        FairQueue<String> q = queue(16);
        for (String item : List.of("A1", "A2", "A3", "A4", "A5", "B1", "B2", "C1")) {
            assertThat(queued(q.offer(item))).isEmpty();
        }
        assertThat(drain(q)).containsExactly("A1", "B1", "C1", "A2", "B2", "A3", "A4", "A5");
    }

    @Test
    void aLoneTenantMayFillTheWholeQueue() {
        FairQueue<String> q = queue(4);
        for (int i = 1; i <= 4; i++) {
            assertThat(queued(q.offer("A" + i))).isEmpty();
        }
        FairQueue.Share share = refused(q.offer("A5"));
        assertThat(share).isEqualTo(new FairQueue.Share("A", 4, 4, 1, 4));
        assertThat(share.describe()).isEqualTo(
                "tenant 'A' holds 4 of the queue's 4 slots and its queue share is 4 (4 / 1 tenant waiting)");
        assertThat(q.size()).isEqualTo(4);
    }

    @Test
    void aTenantUnderItsShareOfAFullQueuePushesOutTheNewestOfTheHeaviestTenant() {
        FairQueue<String> q = queue(4);
        for (int i = 1; i <= 4; i++) {
            q.offer("A" + i);
        }
        // Two tenants waiting: the share is 4 / 2 = 2 each.
        assertThat(queued(q.offer("B1"))).contains("A4");
        assertThat(queued(q.offer("B2"))).contains("A3");
        FairQueue.Share atShare = refused(q.offer("B3"));
        assertThat(atShare).isEqualTo(new FairQueue.Share("B", 2, 2, 2, 4));
        assertThat(refused(q.offer("A5")).tenant()).isEqualTo("A");
        // A third tenant's share is 4 / 3 = 1: it pushes out the newest of the heaviest (a tie: the first found).
        assertThat(queued(q.offer("C1"))).contains("A2");
        assertThat(refused(q.offer("C2"))).isEqualTo(new FairQueue.Share("C", 1, 1, 3, 4));
        assertThat(q.depthByTenant()).isEqualTo(Map.of("A", 1, "B", 2, "C", 1));
        assertThat(drain(q)).containsExactly("A1", "B1", "C1", "B2");
        assertThat(q.depthByTenant()).isEqualTo(Map.of("A", 0, "B", 0, "C", 0));
    }

    @Test
    void removeTakesThatItemOnlyAndSnapshotIsACopy() {
        FairQueue<String> q = queue(8);
        String b1 = new String("B1");
        q.offer("A1");
        q.offer(b1);
        q.offer("A2");
        for (String item : q.snapshot()) {
            if (item.startsWith("B")) {
                assertThat(q.remove(item)).isTrue();
            }
        }
        assertThat(q.remove(b1)).isFalse();
        assertThat(q.size()).isEqualTo(2);
        assertThat(drain(q)).containsExactly("A1", "A2");
        assertThat(q.isEmpty()).isTrue();
    }
}
