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

/** The row-to-slot map against a HashMap: random sequences, growth, tombstones and their reclaiming. */
class RowSlotMapTest {

    @Test
    void behavesLikeAHashMapUnderRandomPutsAndRemovesWithGrowth() {
        Random rnd = new Random(9);
        Map<Long, Integer> ref = new HashMap<>();
        try (RowSlotMap map = new RowSlotMap(4)) {
            for (int op = 0; op < 200_000; op++) {
                long row = rnd.nextInt(5000) * 1_000_003L;
                step(map, ref, rnd.nextInt(3), row, op);
            }
            assertSame(ref, map);
        }
    }

    /**
     * Key spaces from tiny (every probe run long, tombstones everywhere) to wide, and phases that
     * fill the map then empty it: tombstones are made, stepped over, reused and reclaimed.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void tombstonesKeepLookupsRightThroughFillAndDrainPhases(int seed) {
        Random rnd = new Random(31 * seed);
        int keys = new int[] {0, 40, 700, 20_000, 300_000}[seed];
        Map<Long, Integer> ref = new HashMap<>();
        try (RowSlotMap map = new RowSlotMap(1 + rnd.nextInt(64))) {
            for (int phase = 0; phase < 8; phase++) {
                int putShare = phase % 2 == 0 ? 70 : 25; // fill, then drain
                for (int op = 0; op < 25_000; op++) {
                    long row = (long) rnd.nextInt(keys) * 7 + 3;
                    int r = rnd.nextInt(100);
                    step(map, ref, r < putShare ? 0 : r < putShare + (100 - putShare) * 2 / 3 ? 1 : 2, row, op);
                    assertTrue(2L * (map.size() + map.removedEntries()) <= map.capacity(),
                            "rows " + map.size() + " + tombstones " + map.removedEntries() + " over half of " + map.capacity());
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

    /** Rows sharing one home entry: removals in the middle of a run leave tombstones that the rest of the run is found across. */
    @Test
    void rowsOfOneProbeRunAreFoundAcrossTombstonesAndTheirEntriesReused() {
        try (RowSlotMap map = new RowSlotMap(64)) {
            int cap = map.capacity();
            List<Long> run = rowsWithHome(map, 5, cap / 4);
            for (int i = 0; i < run.size(); i++) {
                assertTrue(map.putIfAbsent(run.get(i), i));
            }
            for (int i = 0; i < run.size(); i += 2) {
                assertEquals(i, map.remove(run.get(i)));
            }
            assertTrue(map.removedEntries() > 0, "removals inside a run leave tombstones");
            for (int i = 0; i < run.size(); i++) {
                assertEquals(i % 2 == 0 ? -1 : i, map.get(run.get(i)), "row " + i + " of the run");
            }
            int tombs = map.removedEntries();
            assertTrue(map.putIfAbsent(run.get(0), 100)); // takes the first tombstone of the run
            assertEquals(tombs - 1, map.removedEntries());
            assertFalse(map.putIfAbsent(run.get(1), 101), "a row past a tombstone is still found as mapped");
            assertEquals(100, map.get(run.get(0)));
            // Removing the run's last rows from its end empties them and the tombstones before them.
            for (int i = run.size() - 1; i >= 1; i--) {
                map.remove(run.get(i));
            }
            map.remove(run.get(0));
            assertEquals(0, map.size());
            assertEquals(0, map.removedEntries(), "a run removed from its end leaves no tombstone");
            assertEquals(cap, map.capacity());
        }
    }

    /**
     * Rows come and go with the live count just under a quarter of the capacity (random removals,
     * new rows every time): tombstones pile up, are reused and cleared, and never push rows plus
     * tombstones past half the table, which keeps its size.
     */
    @Test
    void tombstonesStayBoundedUnderChurn() {
        Random rnd = new Random(77);
        Map<Long, Integer> ref = new HashMap<>();
        try (RowSlotMap map = new RowSlotMap(1 << 14)) {
            int cap = map.capacity();
            long next = 0;
            int peakTombs = 0;
            List<Long> live = new ArrayList<>();
            for (int op = 0; op < 400_000; op++) {
                if (live.size() < cap / 4 - 16) {
                    long row = next++ * 13 + 1;
                    assertTrue(map.putIfAbsent(row, op));
                    ref.put(row, op);
                    live.add(row);
                } else {
                    int j = rnd.nextInt(live.size());
                    long row = live.get(j);
                    live.set(j, live.get(live.size() - 1));
                    live.remove(live.size() - 1);
                    assertEquals((int) ref.remove(row), map.remove(row));
                }
                peakTombs = Math.max(peakTombs, map.removedEntries());
                assertEquals(cap, map.capacity(), "rows never pass a quarter: the table keeps its size");
                assertTrue(2L * (map.size() + map.removedEntries()) <= cap);
            }
            assertTrue(peakTombs > cap / 8, "tombstones piled up to " + peakTombs + " of " + cap);
            assertSame(ref, map);
        }
    }

    /**
     * One long probe run emptied but for its last row is all tombstones; puts elsewhere then
     * bring rows plus tombstones to half the table, and the put past that rebuilds it at the
     * same capacity, without tombstones, every row still found.
     */
    @Test
    void manyTombstonesAreReclaimedByARebuildAtTheSameCapacity() {
        Map<Long, Integer> ref = new HashMap<>();
        try (RowSlotMap map = new RowSlotMap(64)) {
            int cap = map.capacity();
            List<Long> run = rowsWithHome(map, 9, 40);
            for (int i = 0; i < run.size(); i++) {
                assertTrue(map.putIfAbsent(run.get(i), i));
            }
            for (int i = 0; i < run.size() - 1; i++) {
                assertEquals(i, map.remove(run.get(i)));
            }
            ref.put(run.get(run.size() - 1), run.size() - 1);
            assertEquals(run.size() - 1, map.removedEntries(), "every removal but the run's last left a tombstone");
            int rebuilds = 0;
            for (long row = 1_000_000; rebuilds == 0; row++) {
                if (map.home(row) >= 9 && map.home(row) <= 9 + run.size()) {
                    continue; // not into the run: its tombstones stay until the rebuild
                }
                int before = map.removedEntries();
                assertTrue(map.putIfAbsent(row, (int) row));
                ref.put(row, (int) row);
                rebuilds += before > 0 && map.removedEntries() == 0 ? 1 : 0;
                assertTrue(2L * (map.size() + map.removedEntries()) <= cap);
            }
            assertEquals(cap, map.capacity(), "rows fill under a quarter: rebuilt at the same capacity");
            assertSame(ref, map);
            for (int i = 0; i < run.size() - 1; i++) {
                assertEquals(-1, map.get(run.get(i)));
            }
        }
    }

    @Test
    void growsWhenRowsFillAQuarterAtARebuildAndEmptiesCompletely() {
        Map<Long, Integer> ref = new HashMap<>();
        try (RowSlotMap map = new RowSlotMap(1)) {
            for (int i = 0; i < 100_000; i++) {
                long row = 7L * i + 3;
                assertTrue(map.putIfAbsent(row, i));
                ref.put(row, i);
                assertTrue(2L * map.size() <= map.capacity());
            }
            assertTrue(map.capacity() >= 200_000 && map.capacity() <= 1 << 19, "capacity " + map.capacity());
            assertSame(ref, map);
            for (int i = 0; i < 100_000; i++) {
                assertEquals(i, map.remove(7L * i + 3));
            }
            assertEquals(0, map.size());
            assertEquals(-1, map.get(3));
        }
    }

    @Test
    void negativeRowsAreRefusedOrAbsent() {
        try (RowSlotMap map = new RowSlotMap(16)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> map.putIfAbsent(-1, 0));
            assertTrue(e.getMessage().contains("-1"), e.getMessage());
            assertEquals(-1, map.get(-1)); // -1 and -2 mark empty and removed entries: never a row
            assertEquals(-1, map.get(-2));
            assertEquals(-1, map.remove(-2));
            assertEquals(0, map.size());
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
