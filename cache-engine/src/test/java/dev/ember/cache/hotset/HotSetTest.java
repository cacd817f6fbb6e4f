package dev.ember.cache.hotset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.roaringbitmap.RoaringBitmap;

class HotSetTest {
    static final List<TableSpec> TABLES = List.of(
            new TableSpec("t0", 1_000, 4, Optimizer.SGD),
            new TableSpec("t1", 200_000, 16, Optimizer.ROWWISE_ADAGRAD),
            new TableSpec("t2", 70_000, 8, Optimizer.ADAGRAD));

    static List<Set<Long>> randomSets(SplittableRandom rnd, double density) {
        List<Set<Long>> sets = new ArrayList<>();
        for (TableSpec spec : TABLES) {
            Set<Long> s = new HashSet<>();
            long n = (long) (spec.rows() * density * rnd.nextDouble());
            for (long i = 0; i < n; i++) {
                // Mix of dense runs and scattered rows, so Roaring uses all container kinds.
                long row = rnd.nextBoolean() ? rnd.nextLong(spec.rows()) : Math.min(spec.rows() - 1, (i * 3) % spec.rows());
                s.add(row);
            }
            sets.add(s);
        }
        return sets;
    }

    static HotSet hotSet(long generation, List<Set<Long>> sets) {
        RoaringBitmap[] maps = new RoaringBitmap[sets.size()];
        for (int t = 0; t < maps.length; t++) {
            maps[t] = new RoaringBitmap();
            for (long r : sets.get(t)) {
                maps[t].add((int) r);
            }
        }
        return HotSet.of(generation, TABLES, maps);
    }

    @Test
    void containsAndCountsMatchAHashSetAndCopiesNeverChangeTheSnapshot() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int round = 0; round < 20; round++) {
            List<Set<Long>> sets = randomSets(rnd, 0.3);
            HotSet h = hotSet(round, sets);
            long bytes = 0;
            for (int t = 0; t < TABLES.size(); t++) {
                assertEquals(sets.get(t).size(), h.hotRows(t));
                bytes += (long) sets.get(t).size() * TABLES.get(t).layout().bytesPerRow();
                for (int probe = 0; probe < 2_000; probe++) {
                    long row = rnd.nextLong(TABLES.get(t).rows());
                    assertEquals(sets.get(t).contains(row), h.contains(t, row));
                }
                assertFalse(h.contains(t, -1));
                assertFalse(h.contains(t, 1L << 40));
                RoaringBitmap copy = h.rowsCopy(t);
                copy.add(0L, TABLES.get(t).rows());
                assertEquals(sets.get(t).size(), h.hotRows(t), "a copy's change must not reach the snapshot");
            }
            assertEquals(bytes, h.hotBytes());
        }
    }

    @Test
    void differenceMatchesHashSetReference() {
        SplittableRandom rnd = new SplittableRandom(2);
        for (int round = 0; round < 20; round++) {
            List<Set<Long>> cur = randomSets(rnd, 0.2);
            List<Set<Long>> next = randomSets(rnd, 0.2);
            HotSetDiff diff = HotSetDiff.between(hotSet(0, cur), hotSet(1, next));
            long promote = 0;
            long demote = 0;
            for (int t = 0; t < TABLES.size(); t++) {
                Set<Long> p = new HashSet<>(next.get(t));
                p.removeAll(cur.get(t));
                Set<Long> d = new HashSet<>(cur.get(t));
                d.removeAll(next.get(t));
                assertEquals(p, toSet(diff.promoteCopy(t)));
                assertEquals(d, toSet(diff.demoteCopy(t)));
                promote += p.size();
                demote += d.size();
            }
            assertEquals(promote, diff.promoteCount());
            assertEquals(demote, diff.demoteCount());
        }
    }

    @Test
    void blobRoundTripsAndChecksTables() {
        HotSet h = hotSet(42, randomSets(new SplittableRandom(3), 0.5));
        HotSet back = HotSet.fromBytes(h.toBytes(), TABLES);
        assertEquals(42, back.generation());
        assertTrue(back.sameRows(h));
        List<TableSpec> other = List.of(TABLES.get(0), new TableSpec("t1", 1234, 16, Optimizer.SGD), TABLES.get(2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HotSet.fromBytes(h.toBytes(), other));
        assertTrue(e.getMessage().contains("t1"), e.getMessage());
    }

    @Test
    void badInputIsRefusedWithTheReason() {
        TableSpec huge = new TableSpec("huge", 3L << 31, 4, Optimizer.SGD);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HotSet.empty(List.of(huge)));
        assertTrue(e.getMessage().contains("huge") && e.getMessage().contains("split"), e.getMessage());
        RoaringBitmap outside = RoaringBitmap.bitmapOf(1_000);
        e = assertThrows(IllegalArgumentException.class,
                () -> HotSet.of(0, List.of(TABLES.get(0)), new RoaringBitmap[] {outside}));
        assertTrue(e.getMessage().contains("t0") && e.getMessage().contains("1000"), e.getMessage());
    }

    static Set<Long> toSet(RoaringBitmap b) {
        Set<Long> s = new HashSet<>();
        b.forEach((int r) -> s.add((long) r));
        return s;
    }
}
