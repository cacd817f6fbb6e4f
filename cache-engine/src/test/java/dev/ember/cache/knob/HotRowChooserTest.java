package dev.ember.cache.knob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.hotset.SampleClassifier;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.ZipfWorkload;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.roaringbitmap.RoaringBitmap;

class HotRowChooserTest {
    // Different row bytes per table: 16, 68 and 64 bytes.
    static final List<TableSpec> TABLES = List.of(
            new TableSpec("small", 300, 4, Optimizer.SGD),
            new TableSpec("mid", 4_000, 16, Optimizer.ROWWISE_ADAGRAD),
            new TableSpec("big", 20_000, 8, Optimizer.ADAGRAD));

    record Cand(int table, int row, float boosted, double raw) {
    }

    /** Random decayed counts, so scores are non-integer, with many exact ties among untouched-since rows. */
    static DecayingCounters randomCounts(SplittableRandom rnd, List<TableSpec> tables) {
        DecayingCounters c = new DecayingCounters(tables, rnd.nextBoolean() ? 1.0 : 0.97);
        for (int step = 1; step <= 50; step++) {
            c.advanceTo(step);
            for (int i = 0; i < 400; i++) {
                int t = rnd.nextInt(tables.size());
                long rows = tables.get(t).rows();
                c.record(t, (long) (Math.pow(rnd.nextDouble(), 3) * rows));
            }
        }
        return c;
    }

    static HotSet randomIncumbent(SplittableRandom rnd, List<TableSpec> tables) {
        RoaringBitmap[] maps = new RoaringBitmap[tables.size()];
        for (int t = 0; t < maps.length; t++) {
            maps[t] = new RoaringBitmap();
            for (int i = 0; i < 200; i++) {
                maps[t].add((int) (Math.pow(rnd.nextDouble(), 2) * tables.get(t).rows()));
            }
        }
        return HotSet.of(7, tables, maps);
    }

    static List<Cand> candidates(DecayingCounters c, HotSet incumbent, Hysteresis h) {
        List<Cand> all = new ArrayList<>();
        for (int t = 0; t < c.tables().size(); t++) {
            for (int row = 0; row < c.tables().get(t).rows(); row++) {
                double s = c.score(t, row);
                if (s > 0) {
                    double boosted = incumbent.contains(t, row) ? s * (1 + h.margin()) + h.sigmas() * Math.sqrt(s) : s;
                    all.add(new Cand(t, row, (float) boosted, s));
                }
            }
        }
        return all;
    }

    /** Each table's ranking on a thread of a pool (as a tiered store's counting workers), or here. */
    private static DecayingCounters.TableRunner ranking(boolean onThreads) {
        return onThreads ? DecayingCounters.TableRunner.on(POOL) : DecayingCounters.TableRunner.HERE;
    }

    private static final java.util.concurrent.ExecutorService POOL = java.util.concurrent.Executors.newFixedThreadPool(3, r -> {
        Thread t = new Thread(r, "ranking");
        t.setDaemon(true);
        return t;
    });

    @ParameterizedTest(name = "tables ranked on threads: {0}")
    @ValueSource(booleans = {false, true})
    void cacheModePicksExactlyTheTopRowsPerByteWithinTheBudget(boolean onThreads) {
        SplittableRandom rnd = new SplittableRandom(21);
        for (int round = 0; round < 30; round++) {
            DecayingCounters c = randomCounts(rnd, TABLES);
            HotSet incumbent = randomIncumbent(rnd, TABLES);
            Hysteresis margin = round % 3 == 0 ? Hysteresis.NONE : new Hysteresis(0.15, round % 3);
            long budget = rnd.nextLong(200_000);
            KnobChoice choice = new HotRowChooser(margin).choose(c, incumbent, budget, KnobMode.CACHE, ranking(onThreads));

            // Brute force: every scored row, by boosted fp32 score per byte, then table, then row.
            List<Cand> all = candidates(c, incumbent, margin);
            all.sort(Comparator.<Cand>comparingDouble(x -> -(double) x.boosted() / bytes(x.table()))
                    .thenComparingInt(Cand::table).thenComparingInt(Cand::row));
            RoaringBitmap[] expected = empty();
            long left = budget;
            double hits = 0;
            for (Cand x : all) {
                if (bytes(x.table()) <= left) {
                    left -= bytes(x.table());
                    expected[x.table()].add(x.row());
                    hits += x.raw();
                }
            }
            HotSet want = HotSet.of(0, TABLES, expected);
            assertTrue(choice.hotSet().sameRows(want), "round " + round);
            assertTrue(choice.usedBytes() <= budget);
            assertEquals(budget - left, choice.usedBytes());
            assertEquals(8, choice.hotSet().generation(), "a choice is the incumbent's next generation");
            double total = c.total(0) + c.total(1) + c.total(2);
            assertEquals(hits / total, choice.hitRate(), 1e-9);
        }
    }

    @ParameterizedTest(name = "tables ranked on threads: {0}")
    @ValueSource(booleans = {false, true})
    void faeModeMatchesABruteForceGreedyOnTheLogOfPerTableHitRates(boolean onThreads) {
        SplittableRandom rnd = new SplittableRandom(22);
        for (int round = 0; round < 15; round++) {
            DecayingCounters c = randomCounts(rnd, TABLES);
            HotSet incumbent = randomIncumbent(rnd, TABLES);
            Hysteresis margin = Hysteresis.DEFAULT;
            long budget = rnd.nextLong(100_000);
            KnobChoice choice = new HotRowChooser(margin).choose(c, incumbent, budget, KnobMode.FAE, ranking(onThreads));

            List<List<Cand>> perTable = new ArrayList<>();
            for (int t = 0; t < TABLES.size(); t++) {
                perTable.add(new ArrayList<>());
            }
            for (Cand x : candidates(c, incumbent, margin)) {
                perTable.get(x.table()).add(x);
            }
            for (List<Cand> l : perTable) {
                l.sort(Comparator.<Cand>comparingDouble(x -> -x.boosted()).thenComparingInt(Cand::row));
            }
            RoaringBitmap[] expected = empty();
            double[] chosen = new double[TABLES.size()];
            int[] next = new int[TABLES.size()];
            boolean[] out = new boolean[TABLES.size()];
            long left = budget;
            while (true) {
                int best = -1;
                double bestGain = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < TABLES.size(); t++) {
                    if (out[t] || next[t] == perTable.get(t).size()) {
                        continue;
                    }
                    double s = perTable.get(t).get(next[t]).boosted();
                    double g = chosen[t] == 0 ? Double.POSITIVE_INFINITY : Math.log1p(s / chosen[t]) / bytes(t);
                    if (g > bestGain) {
                        bestGain = g;
                        best = t;
                    }
                }
                if (best < 0) {
                    break;
                }
                if (bytes(best) > left) {
                    out[best] = true;
                    continue;
                }
                Cand x = perTable.get(best).get(next[best]++);
                left -= bytes(best);
                chosen[best] += x.raw();
                expected[best].add(x.row());
            }
            assertTrue(choice.hotSet().sameRows(HotSet.of(0, TABLES, expected)), "round " + round);
        }
    }

    @Test
    void hysteresisKeepsAnIncumbentUntilAChallengerBeatsItByTheMargin() {
        List<TableSpec> one = List.of(new TableSpec("t", 10, 4, Optimizer.SGD));
        HotSet incumbent = HotSet.of(0, one, new RoaringBitmap[] {RoaringBitmap.bitmapOf(1)});
        HotRowChooser chooser = new HotRowChooser(Hysteresis.ofMargin(0.1));
        long oneRow = one.get(0).layout().bytesPerRow();
        for (int challenger : new int[] {100, 105, 109, 111, 130}) {
            DecayingCounters c = new DecayingCounters(one, 1.0);
            for (int i = 0; i < 100; i++) {
                c.record(0, 1);
            }
            for (int i = 0; i < challenger; i++) {
                c.record(0, 2);
            }
            HotSet chosen = chooser.choose(c, incumbent, oneRow, KnobMode.CACHE).hotSet();
            assertEquals(challenger > 110, chosen.contains(0, 2), "challenger " + challenger + " vs incumbent 100");
            assertEquals(challenger <= 110, chosen.contains(0, 1));
        }
        // With the noise term: 100 * 1.1 + 2 * sqrt(100) = 130.
        HotRowChooser noisy = new HotRowChooser(new Hysteresis(0.1, 2));
        for (int challenger : new int[] {111, 129, 131}) {
            DecayingCounters c = new DecayingCounters(one, 1.0);
            for (int i = 0; i < 100; i++) {
                c.record(0, 1);
            }
            for (int i = 0; i < challenger; i++) {
                c.record(0, 2);
            }
            assertEquals(challenger > 130, noisy.choose(c, incumbent, oneRow, KnobMode.CACHE).hotSet().contains(0, 2),
                    "challenger " + challenger + " vs incumbent 100 +- noise");
        }
        DecayingCounters c = new DecayingCounters(one, 1.0);
        c.record(0, 3);
        assertEquals(0, chooser.choose(c, incumbent, oneRow - 1, KnobMode.CACHE).hotSet().totalHotRows(), "no room, no rows");
        assertFalse(chooser.choose(c, incumbent, oneRow, KnobMode.CACHE).hotSet().contains(0, 1), "unscored incumbents go");
    }

    @Test
    void faeModeYieldsMoreAllHotSamplesThanCacheModeOnAZipfStream() {
        List<TableSpec> tables = List.of(
                new TableSpec("c1", 50_000, 16, Optimizer.SGD), new TableSpec("c2", 500, 16, Optimizer.SGD),
                new TableSpec("c3", 20_000, 16, Optimizer.SGD), new TableSpec("c4", 3_000, 16, Optimizer.SGD));
        // Skews differ (as Criteo's do): a hit-rate choice starves the flat table.
        ZipfWorkload w = new ZipfWorkload(tables, new double[] {1.2, 0.6, 1.05, 0.8}, 5);
        DecayingCounters c = new DecayingCounters(tables, 1.0);
        PooledBatch[] batch = w.newBatch(512);
        for (int step = 0; step < 100; step++) {
            w.fill(batch, 512);
            c.record(batch);
        }
        long budget = (long) (0.05 * (73_500 * 64));
        HotSet empty = HotSet.empty(tables);
        KnobChoice cache = new HotRowChooser(Hysteresis.NONE).choose(c, empty, budget, KnobMode.CACHE);
        KnobChoice fae = new HotRowChooser(Hysteresis.NONE).choose(c, empty, budget, KnobMode.FAE);
        assertTrue(fae.allHotRate() >= cache.allHotRate(), fae + " vs " + cache);
        long[] hot = new long[SampleClassifier.words(512)];
        long cacheHot = 0;
        long faeHot = 0;
        for (int step = 0; step < 100; step++) {
            w.fill(batch, 512);
            cacheHot += SampleClassifier.classify(cache.hotSet(), batch, hot);
            faeHot += SampleClassifier.classify(fae.hotSet(), batch, hot);
        }
        assertTrue(faeHot > cacheHot, "all-hot samples: fae " + faeHot + " cache " + cacheHot);
    }

    static int bytes(int t) {
        return TABLES.get(t).layout().bytesPerRow();
    }

    static RoaringBitmap[] empty() {
        RoaringBitmap[] maps = new RoaringBitmap[TABLES.size()];
        for (int t = 0; t < maps.length; t++) {
            maps[t] = new RoaringBitmap();
        }
        return maps;
    }
}
