package dev.ember.gpu.pool;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The row-to-slot map against a HashMap: random sequences, long probe runs, growth, its room per row. */
class RowSlotMapTest {

    @Test
    void behavesLikeAHashMapUnderRandomPutsAndRemovesWithGrowth() {
        Random rnd = new Random(9);
        Map<Long, Integer> ref = new HashMap<>();
        try (RowSlotMap map = new RowSlotMap(4)) {
            for (int op = 0; op < 200_000; op++) {
                long row = rnd.nextInt(4000) * 1_000_003L; // up to 4e9: rows use all 32 bits
                step(map, ref, rnd.nextInt(3), row, op);
            }
            assertSame(ref, map);
        }
    }

    /**
     * Key spaces from tiny (long probe runs) to wide, fill then drain phases, and each room per
     * row: lookups stay right through backward shifts and growth, and rows never pass
     * {@code 1 / room} of the table.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void staysRightThroughFillAndDrainPhases(int seed) {
        Random rnd = new Random(31 * seed);
        int keys = new int[] {0, 40, 700, 20_000, 300_000}[seed];
        int room = new int[] {0, 2, 4, 8, 4}[seed];
        Map<Long, Integer> ref = new HashMap<>();
        try (RowSlotMap map = new RowSlotMap(1 + rnd.nextInt(64), room)) {
            for (int phase = 0; phase < 8; phase++) {
                int putShare = phase % 2 == 0 ? 70 : 25; // fill, then drain
                for (int op = 0; op < 25_000; op++) {
                    long row = (long) rnd.nextInt(keys) * 7 + 3;
                    int r = rnd.nextInt(100);
                    step(map, ref, r < putShare ? 0 : r < putShare + (100 - putShare) * 2 / 3 ? 1 : 2, row, op);
                    assertTrue((long) room * map.size() <= map.capacity(),
                            map.size() + " rows in " + map.capacity() + " entries, room " + room);
                }
                assertSame(ref, map);
                for (int probe = 0; probe < 2000; probe++) {
                    long absent = (long) rnd.nextInt(keys) * 7 + 5; // never put
                    assertEquals(-1, map.get(absent));
                    assertEquals(-1, map.remove(absent));
                }
            }
        }
    }

    /** Rows sharing one home entry: removals in the middle of their run shift the rest back, every row still found. */
    @Test
    void rowsOfOneProbeRunAreFoundAfterRemovalsInsideIt() {
        try (RowSlotMap map = new RowSlotMap(64)) {
            int cap = map.capacity();
            List<Long> run = rowsWithHome(map, cap - 3, cap / 8); // the run wraps past the table's end
            for (int i = 0; i < run.size(); i++) {
                assertTrue(map.putIfAbsent(run.get(i), i));
            }
            assertEquals(cap, map.capacity());
            for (int i = 0; i < run.size(); i += 2) {
                assertEquals(i, map.remove(run.get(i)));
            }
            for (int i = 0; i < run.size(); i++) {
                assertEquals(i % 2 == 0 ? -1 : i, map.get(run.get(i)), "row " + i + " of the run");
            }
            assertTrue(map.putIfAbsent(run.get(0), 100));
            assertFalse(map.putIfAbsent(run.get(1), 101), "a mapped row of the run is found as mapped");
            assertEquals(100, map.get(run.get(0)));
            for (int i = run.size() - 1; i >= 0; i--) {
                map.remove(run.get(i));
            }
            assertEquals(0, map.size());
            Map<Long, Integer> seen = new HashMap<>();
            map.forEach(seen::put);
            assertTrue(seen.isEmpty());
        }
    }

    @Test
    void growsToKeepItsRoomPerRowAndEmptiesCompletely() {
        Map<Long, Integer> ref = new HashMap<>();
        try (RowSlotMap map = new RowSlotMap(1)) {
            for (int i = 0; i < 100_000; i++) {
                long row = 7L * i + 3;
                assertTrue(map.putIfAbsent(row, i));
                ref.put(row, i);
                assertTrue((long) RowSlotMap.ROOM * map.size() <= map.capacity());
            }
            assertEquals(1 << 19, map.capacity(), "the smallest power of two with room 4 for 100,000 rows");
            assertSame(ref, map);
            for (int i = 0; i < 100_000; i++) {
                assertEquals(i, map.remove(7L * i + 3));
            }
            assertEquals(0, map.size());
            assertEquals(-1, map.get(3));
        }
        try (RowSlotMap sized = new RowSlotMap(100_000)) {
            assertEquals(1 << 19, sized.capacity(), "sized up front: no growth for the rows expected");
        }
    }

    @Test
    void negativeRowsAreRefusedOrAbsentAndBadRoomIsNamed() {
        try (RowSlotMap map = new RowSlotMap(16)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> map.putIfAbsent(-1, 0));
            assertTrue(e.getMessage().contains("-1"), e.getMessage());
            assertEquals(-1, map.get(-1)); // -1 marks an empty entry: never a row
            assertEquals(-1, map.remove(-1));
            assertEquals(0, map.size());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new RowSlotMap(16, 3));
        assertTrue(e.getMessage().contains("ember.hot.mapRoom"), e.getMessage());
    }

    /** Rows fill 32 bits of an entry: the largest row and slot round-trip, one past the limit is refused. */
    @Test
    void rowsUpToTheLimitRoundTripAndLargerOnesAreRefused() {
        try (RowSlotMap map = new RowSlotMap(16)) {
            long last = RowSlotMap.ROW_LIMIT - 1;
            assertTrue(map.putIfAbsent(last, Integer.MAX_VALUE));
            assertTrue(map.putIfAbsent(0, 0));
            assertEquals(Integer.MAX_VALUE, map.get(last));
            assertEquals(0, map.get(0));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> map.putIfAbsent(RowSlotMap.ROW_LIMIT, 1));
            assertTrue(e.getMessage().contains(Long.toString(RowSlotMap.ROW_LIMIT)), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> map.putIfAbsent(5, -1));
            assertEquals(-1, map.get(RowSlotMap.ROW_LIMIT)); // the empty entry's row bits: never a row
            assertEquals(-1, map.remove(RowSlotMap.ROW_LIMIT));
            Map<Long, Integer> seen = new HashMap<>();
            map.forEach(seen::put);
            assertEquals(Map.of(last, Integer.MAX_VALUE, 0L, 0), seen);
            assertEquals(Integer.MAX_VALUE, map.remove(last));
            assertEquals(1, map.size());
        }
    }

    private static void step(RowSlotMap map, Map<Long, Integer> ref, int kind, long row, int value) {
        if (kind == 0) {
            boolean added = map.putIfAbsent(row, value);
            assertEquals(!ref.containsKey(row), added);
            ref.putIfAbsent(row, value);
        } else if (kind == 1) {
            Integer old = ref.remove(row);
            assertEquals(old == null ? -1 : old, map.remove(row));
        } else {
            Integer v = ref.get(row);
            assertEquals(v == null ? -1 : v, map.get(row));
        }
        assertEquals(ref.size(), map.size());
    }

    private static void assertSame(Map<Long, Integer> ref, RowSlotMap map) {
        Map<Long, Integer> seen = new HashMap<>();
        map.forEach(seen::put);
        assertEquals(ref, seen);
        for (Map.Entry<Long, Integer> e : ref.entrySet()) {
            assertEquals((int) e.getValue(), map.get(e.getKey()));
        }
    }

    /** {@code n} rows whose home entry in {@code map} (at its present capacity) is {@code home}. */
    private static List<Long> rowsWithHome(RowSlotMap map, int home, int n) {
        List<Long> out = new ArrayList<>();
        for (long row = 0; out.size() < n; row++) {
            if (map.home(row) == home) {
                out.add(row);
            }
        }
        return out;
    }
}
