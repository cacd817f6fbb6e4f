package dev.ember.gpu.pool;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class StripedRowSlotMapTest {
    private static final int N = 3 * StripedRowSlotMap.PARALLEL_FROM;

    @Test
    void bulkOperationsOnSeveralCoresMatchAHashMapAndUndoOnFailure() {
        Random rnd = new Random(17);
        long[] rows = new long[N];
        int[] slots = new int[N];
        for (int i = 0; i < N; i++) {
            rows[i] = rnd.nextLong() & Long.MAX_VALUE;
            slots[i] = i;
        }
        try (StripedRowSlotMap map = new StripedRowSlotMap(16)) {
            assertEquals(-1, map.insertAll(rows, 0, N, slots));
            assertEquals(N, map.size());
            int[] found = new int[N];
            assertEquals(-1, map.lookupAll(rows, 0, N, found));
            for (int i = 0; i < N; i++) {
                assertEquals(i, found[i]);
            }
            Map<Long, Integer> before = snapshot(map);

            // A held row in the middle of a bulk insert: nothing of the call stays.
            long[] more = new long[N];
            int[] moreSlots = new int[N];
            for (int i = 0; i < N; i++) {
                more[i] = (rnd.nextLong() & Long.MAX_VALUE) | 1L << 62;
                moreSlots[i] = N + i;
            }
            more[N / 2] = rows[5];
            assertEquals(N / 2, map.insertAll(more, 0, N, moreSlots));
            assertEquals(before, snapshot(map));
            // A duplicate inside the call: the later copy is the failure, the earlier one is undone too.
            more[N / 2] = more[10];
            assertEquals(N / 2, map.insertAll(more, 0, N, moreSlots));
            assertEquals(before, snapshot(map));

            // A row not held in the middle of a bulk removal: every row of the call comes back.
            long[] gone = rows.clone();
            gone[N - 3] = 1L << 61;
            int[] out = new int[N];
            assertEquals(N - 3, map.removeAll(gone, 0, N, out));
            assertEquals(before, snapshot(map));
            assertEquals(N - 3, map.lookupAll(gone, 0, N, out));

            assertEquals(-1, map.removeAll(rows, 0, N, out));
            for (int i = 0; i < N; i++) {
                assertEquals(i, out[i]);
            }
            assertEquals(0, map.size());
        }
    }

    private static Map<Long, Integer> snapshot(StripedRowSlotMap map) {
        Map<Long, Integer> m = new HashMap<>();
        map.forEach(m::put);
        return m;
    }
}
