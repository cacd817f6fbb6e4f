package dev.ember.cache.hotset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PinCountsTest {

    @Test
    void matchesAHashMapReferenceThroughGrowthAndDeletes() {
        SplittableRandom rnd = new SplittableRandom(7);
        PinCounts pins = new PinCounts(4);
        Map<Long, Integer> ref = new HashMap<>();
        List<Long> live = new ArrayList<>();
        for (int op = 0; op < 300_000; op++) {
            // Few distinct keys in a small table: long probe runs, many wrap-arounds and shifts.
            long key = PinCounts.key(rnd.nextInt(3), rnd.nextInt(op < 150_000 ? 5_000 : 300));
            int kind = rnd.nextInt(3);
            if (kind == 0 || live.isEmpty()) {
                pins.increment(key);
                if (ref.merge(key, 1, Integer::sum) == 1) {
                    live.add(key);
                }
            } else if (kind == 1) {
                int i = rnd.nextInt(live.size());
                long k = live.get(i);
                pins.decrement(k);
                if (ref.merge(k, -1, Integer::sum) == 0) {
                    ref.remove(k);
                    live.set(i, live.get(live.size() - 1));
                    live.remove(live.size() - 1);
                }
            } else {
                assertEquals(ref.containsKey(key), pins.contains(key));
            }
            assertEquals(ref.size(), pins.size());
        }
        for (long k : ref.keySet()) {
            assertEquals(true, pins.contains(k));
        }
        assertThrows(IllegalStateException.class, () -> pins.decrement(PinCounts.key(9, 9)));
    }
}
