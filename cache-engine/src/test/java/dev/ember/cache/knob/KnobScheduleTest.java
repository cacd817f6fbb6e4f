package dev.ember.cache.knob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.hotset.HotSets;
import dev.ember.cache.hotset.MoveChunk;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.popularity.SamplingProfiler;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.Oracle;
import dev.ember.cache.testing.ZipfWorkload;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

class KnobScheduleTest {
    static final List<TableSpec> TABLES = List.of(
            new TableSpec("c1", 40_000, 16, Optimizer.SGD), new TableSpec("c2", 2_000, 16, Optimizer.SGD),
            new TableSpec("c3", 100_000, 16, Optimizer.SGD), new TableSpec("c4", 10_000, 16, Optimizer.SGD));
    static final double EXPONENT = 1.05;
    static final int SAMPLES = 512;

    /** The store's step loop, less the row copies: pin, serve, count, release, then re-tier at the boundary. */
    static final class Run {
        final List<TableSpec> tables;
        final int samples;
        final ZipfWorkload workload;
        final PooledBatch[] batch;
        DecayingCounters counters;
        HotSets hotSets;
        KnobSchedule knob;
        final MoveChunk chunk = new MoveChunk(2_048);
        final List<KnobChoice> choices = new ArrayList<>();
        long step;
        long restoredAt = -1;

        Run(long seed, KnobMode mode, Budget budget, Hysteresis margin, double halfLife, int period, int lag) {
            this(TABLES, SAMPLES, seed, mode, budget, margin, halfLife, period, lag);
        }

        Run(List<TableSpec> tables, int samples, long seed, KnobMode mode, Budget budget, Hysteresis margin, double halfLife,
            int period, int lag) {
            this.tables = tables;
            this.samples = samples;
            workload = new ZipfWorkload(tables, EXPONENT, seed);
            batch = workload.newBatch(samples);
            counters = new DecayingCounters(tables, DecayingCounters.decayForHalfLife(halfLife));
            hotSets = new HotSets(HotSet.empty(tables));
            knob = new KnobSchedule(counters, hotSets.current(), mode, budget, margin, period, lag, hotSets);
        }

        /** Runs one step; {@code hits} (may be null) gets [lookups, hot-tier hits, oracle hits] added. */
        void step(int[] oracleK, long[] hits) {
            workload.fill(batch, samples);
            HotSet generation = hotSets.pin(batch);
            if (hits != null) {
                for (int t = 0; t < TABLES.size(); t++) {
                    for (int s = 0; s < SAMPLES; s++) {
                        hits[0]++;
                        hits[1] += generation.contains(t, batch[t].id(s)) ? 1 : 0;
                        hits[2] += workload.rank(t, s) <= oracleK[t] ? 1 : 0;
                    }
                }
            }
            counters.record(batch);
            hotSets.release(batch);
            step++;
            counters.advanceTo(step);
            KnobChoice choice = knob.onStep(step);
            if (choice != null) {
                choices.add(choice);
                assertTrue(choice.prepared() != null || knob.evaluations() == restoredAt, "choices come prepared");
                choice.retarget(hotSets);
            }
            for (int c = 0; c < 8 && hotSets.planChunk(chunk); c++) {
                hotSets.commit(chunk);
            }
        }
    }

    static long bytesOfAllRows() {
        long n = 0;
        for (TableSpec t : TABLES) {
            n += t.rows() * t.layout().bytesPerRow();
        }
        return n;
    }

    /** A recorder behind the steps is waited for exactly when an evaluation starts, before it reads the counts. */
    @Test
    void theWaitBeforeTheCountsRunsOnlyWhenAnEvaluationStarts() {
        for (int[] pl : new int[][] {{5, 3}, {4, 4}, {3, 0}}) {
            DecayingCounters counters = new DecayingCounters(TABLES, 0.99);
            List<Long> waited = new ArrayList<>();
            long[] step = {0};
            long[] evaluationsAtWait = new long[64];
            try (KnobSchedule knob = new KnobSchedule(counters, HotSet.empty(TABLES), KnobMode.CACHE,
                    Budget.ofFraction(0.1), Hysteresis.DEFAULT, pl[0], pl[1])) {
                for (step[0] = 1; step[0] <= 24; step[0]++) {
                    counters.advanceTo(step[0]);
                    knob.onStep(step[0], () -> {
                        evaluationsAtWait[waited.size()] = knob.evaluations();
                        waited.add(step[0]);
                    });
                }
                if (pl[1] > 0) { // evaluations on the knob's thread are timed there
                    assertTrue(knob.evaluationNanos() > 0, "evaluations timed");
                    assertTrue(knob.longestEvaluationNanos() > 0 && knob.longestEvaluationNanos() <= knob.evaluationNanos());
                }
            }
            List<Long> starts = new ArrayList<>();
            for (long s = pl[0]; s <= 24; s += pl[0]) {
                starts.add(s);
            }
            assertEquals(starts, waited, "period " + pl[0] + ", lag " + pl[1]);
            for (int i = 0; i < waited.size(); i++) {
                // after the choice due at this step was handed out, before the next one starts
                assertEquals(i, evaluationsAtWait[i], "evaluations handed out before wait " + i + ", period " + pl[0]
                        + ", lag " + pl[1]);
            }
        }
    }

    @Test
    void afterDriftTheRetieredHitRateReaches95PercentOfTheOracleWhileFaesStaticSetDoesNot() {
        int driftAt = 400;
        int settle = 200; // W: steps allowed to re-tier after the drift
        int window = 200;
        Budget budget = Budget.ofFraction(0.05);
        long budgetBytes = budget.resolve(TABLES);
        int[] oracleK = Oracle.topRanks(TABLES, EXPONENT, budgetBytes);

        // FAE: profile 5% of the whole training input up front, fix the hot set once.
        ZipfWorkload profiled = new ZipfWorkload(TABLES, EXPONENT, 77);
        PooledBatch[] pb = profiled.newBatch(SAMPLES);
        int total = driftAt + settle + window;
        Iterator<PooledBatch[]> input = new Iterator<>() {
            int s;

            @Override
            public boolean hasNext() {
                return s < total;
            }

            @Override
            public PooledBatch[] next() {
                if (s++ == driftAt) {
                    profiled.drift();
                }
                profiled.fill(pb, SAMPLES);
                return pb;
            }
        };
        DecayingCounters profile = new SamplingProfiler(0.05, 1).profile(input, TABLES);
        HotSet fae = new HotRowChooser(Hysteresis.NONE).choose(profile, HotSet.empty(TABLES), budgetBytes, KnobMode.CACHE).hotSet();

        Run run = new Run(77, KnobMode.CACHE, budget, Hysteresis.DEFAULT, 50, 10, 3);
        long[] before = new long[3];
        long[] after = new long[3];
        long faeHitsAfter = 0;
        for (int s = 0; s < total; s++) {
            if (s == driftAt) {
                run.workload.drift();
            }
            long[] hits = s >= driftAt - window && s < driftAt ? before : s >= driftAt + settle ? after : null;
            long oldHits = after[0];
            run.step(oracleK, hits);
            if (hits == after) {
                for (int t = 0; t < TABLES.size(); t++) {
                    for (int i = 0; i < SAMPLES; i++) {
                        faeHitsAfter += fae.contains(t, run.batch[t].id(i)) ? 1 : 0;
                    }
                }
                assertEquals(oldHits + (long) TABLES.size() * SAMPLES, after[0]);
            }
        }
        run.knob.close();
        double emberBefore = (double) before[1] / before[2];
        double emberAfter = (double) after[1] / after[2];
        double faeAfter = (double) faeHitsAfter / after[2];
        String report = String.format("hit rate / oracle: ember before drift %.3f, ember %d steps after %.3f, FAE static %.3f;"
                        + " oracle hit rate %.3f", emberBefore, settle, emberAfter, faeAfter, (double) after[2] / after[0]);
        System.out.println(report);
        assertTrue(emberBefore >= 0.95, report);
        assertTrue(emberAfter >= 0.95, report);
        assertTrue(faeAfter < 0.95, report);
        assertTrue(run.hotSets.current().hotBytes() <= budgetBytes);
    }

    static final List<TableSpec> SMALL = List.of(
            new TableSpec("s1", 8_000, 16, Optimizer.SGD), new TableSpec("s2", 500, 16, Optimizer.SGD),
            new TableSpec("s3", 12_000, 16, Optimizer.SGD), new TableSpec("s4", 3_000, 16, Optimizer.SGD));

    @Test
    void rowsNeverFlapOnAStationaryStreamWhileWithoutHysteresisTheyDo() {
        // Rows at the edge of the hot set counted well above their noise: no row ever flaps.
        int[] withDefault = flaps(Hysteresis.DEFAULT, SMALL, 2_048);
        int[] without = flaps(Hysteresis.NONE, SMALL, 2_048);
        System.out.printf("well counted: rows flapping after warm-up (rows changed): default hysteresis %d (%d), none %d (%d)%n",
                withDefault[0], withDefault[1], without[0], without[1]);
        assertEquals(0, withDefault[0], "rows flapped with the default hysteresis");
        assertTrue(without[0] > 0, "the test must be able to see flapping");

        // Edge rows with a few dozen counts: a relative margin alone cannot hold them, the noise term does.
        int[] sparseDefault = flaps(Hysteresis.DEFAULT, TABLES, SAMPLES);
        int[] sparseMargin = flaps(Hysteresis.ofMargin(0.2), TABLES, SAMPLES);
        int[] sparseNone = flaps(Hysteresis.NONE, TABLES, SAMPLES);
        System.out.printf("sparsely counted: default hysteresis %d (%d), 20%% margin only %d (%d), none %d (%d)%n",
                sparseDefault[0], sparseDefault[1], sparseMargin[0], sparseMargin[1], sparseNone[0], sparseNone[1]);
        assertTrue(sparseDefault[0] * 100 <= sparseNone[0], "default hysteresis must cut flapping 100-fold");
        assertTrue(sparseDefault[0] * 10 <= sparseMargin[0], "the noise term must beat a relative margin 10-fold");
    }

    /**
     * On a stationary stream, after a warm-up: [rows whose owner changed twice or more (in, out
     * and in again, or the reverse), owner changes].
     */
    static int[] flaps(Hysteresis hysteresis, List<TableSpec> tables, int samples) {
        Run run = new Run(tables, samples, 5, KnobMode.CACHE, Budget.ofFraction(0.05), hysteresis, 2_000, 20, 0);
        List<TableSpec> TABLES = tables;
        int warmUp = 400;
        int[][] changes = new int[TABLES.size()][];
        for (int t = 0; t < changes.length; t++) {
            changes[t] = new int[(int) TABLES.get(t).rows()];
        }
        HotSet last = null;
        int flapping = 0;
        int changed = 0;
        for (int s = 0; s < 1_400; s++) {
            run.step(null, null);
            if (run.choices.isEmpty()) {
                continue;
            }
            HotSet now = run.choices.get(run.choices.size() - 1).hotSet();
            if (last != null && now != last && s >= warmUp) {
                for (int t = 0; t < TABLES.size(); t++) {
                    for (int r = 0; r < TABLES.get(t).rows(); r++) {
                        if (now.contains(t, r) != last.contains(t, r)) {
                            changed++;
                            if (++changes[t][r] == 2) {
                                flapping++;
                            }
                        }
                    }
                }
            }
            last = now;
        }
        run.knob.close();
        return new int[] {flapping, changed};
    }

    @Test
    void choicesDoNotDependOnTheLagAndACheckpointMidEvaluationResumesIdentically() {
        Budget budget = Budget.ofFraction(0.03);
        Run sync = new Run(9, KnobMode.FAE, budget, Hysteresis.DEFAULT, 30, 10, 0);
        Run lagged = new Run(9, KnobMode.FAE, budget, Hysteresis.DEFAULT, 30, 10, 7);
        Run resumed = new Run(9, KnobMode.FAE, budget, Hysteresis.DEFAULT, 30, 10, 7);
        for (int s = 0; s < 300; s++) {
            sync.step(null, null);
            lagged.step(null, null);
            resumed.step(null, null);
            if (s == 123) {
                // Step 124: the evaluation started at 120 is in flight and the counters frozen.
                assertTrue(resumed.knob.pending());
                byte[] knobBlob = resumed.knob.toBytes();
                byte[] countersBlob = resumed.counters.toBytes();
                byte[] hotBlob = resumed.hotSets.toBytes();
                resumed.knob.close();
                resumed.counters = DecayingCounters.fromBytes(countersBlob, TABLES);
                resumed.hotSets = HotSets.fromBytes(hotBlob, TABLES);
                resumed.knob = KnobSchedule.fromBytes(knobBlob, resumed.counters, resumed.hotSets);
                resumed.restoredAt = resumed.knob.evaluations() + 1; // the restored choice is not prepared
                assertTrue(resumed.knob.pending());
            }
        }
        assertEquals(30, sync.choices.size());
        assertEquals(sync.choices.size(), lagged.choices.size() + 1, "the last lagged choice is still due");
        for (int i = 0; i < lagged.choices.size(); i++) {
            assertTrue(sync.choices.get(i).hotSet().sameRows(lagged.choices.get(i).hotSet()), "choice " + i);
            assertTrue(lagged.choices.get(i).hotSet().sameRows(resumed.choices.get(i).hotSet()), "resumed choice " + i);
            assertEquals(lagged.choices.get(i).hitRate(), resumed.choices.get(i).hitRate());
        }
        DecayingCountersBits.assertSame(sync.counters, resumed.counters);
        assertTrue(lagged.hotSets.current().sameRows(resumed.hotSets.current()));
        assertEquals(lagged.hotSets.current().generation(), resumed.hotSets.current().generation());
        sync.knob.close();
        lagged.knob.close();
        resumed.knob.close();
    }

    @Test
    void aPreparedChoiceIsRebasedOffTheStepThreadBeforeItIsDueAndStillMovesExactlyToItsRows() throws Exception {
        Budget budget = Budget.ofFraction(0.03);
        Run sync = new Run(11, KnobMode.CACHE, budget, Hysteresis.DEFAULT, 30, 50, 0);
        Run lagged = new Run(11, KnobMode.CACHE, budget, Hysteresis.DEFAULT, 30, 50, 40);
        for (int s = 0; s < 200; s++) {
            sync.step(null, null);
            lagged.step(null, null);
            Thread.sleep(3); // steps slow enough for each evaluation to be done 16 steps before its choice is due
        }
        assertEquals(4, sync.choices.size());
        assertEquals(3, lagged.choices.size());
        assertTrue(lagged.hotSets.rebases() >= 1, "choices done before they are due are rebased: " + lagged.hotSets.rebases());
        // A rebase done 4 steps before its choice is due is made again (12 steps of 3 ms after the first).
        assertTrue(lagged.hotSets.rebases() > lagged.choices.size(), "a choice rebased twice: "
                + lagged.hotSets.rebases() + " rebases for " + lagged.choices.size() + " choices");
        for (int i = 0; i < lagged.choices.size(); i++) {
            assertTrue(sync.choices.get(i).hotSet().sameRows(lagged.choices.get(i).hotSet()), "choice " + i);
        }
        while (lagged.hotSets.planChunk(lagged.chunk)) {
            lagged.hotSets.commit(lagged.chunk);
        }
        assertTrue(lagged.hotSets.settled());
        assertTrue(lagged.hotSets.current().sameRows(lagged.choices.get(2).hotSet()), "moved exactly to the last choice's rows");
        sync.knob.close();
        lagged.knob.close();
    }

    @Test
    void aBudgetChangeTakesEffectAtTheNextEvaluation() {
        Run run = new Run(3, KnobMode.CACHE, Budget.ofFraction(0.02), Hysteresis.DEFAULT, 50, 10, 4);
        for (int s = 0; s < 42; s++) {
            run.step(null, null);
        }
        long small = Budget.ofFraction(0.02).resolve(TABLES);
        long large = small * 3;
        // Step 42: the evaluation started at step 40 is running (it is handed out at 44) and keeps
        // the budget it started with; the one starting at 50 uses the new budget.
        assertTrue(run.knob.pending());
        run.knob.setBudget(Budget.ofBytes(large));
        for (int s = 42; s < 80; s++) {
            run.step(null, null);
        }
        assertEquals(7, run.choices.size()); // handed out at 14, 24, ..., 74
        for (KnobChoice c : run.choices.subList(0, 4)) {
            assertEquals(small, c.budgetBytes());
            assertTrue(c.usedBytes() <= small);
        }
        for (KnobChoice c : run.choices.subList(4, 7)) {
            assertEquals(large, c.budgetBytes());
        }
        assertTrue(run.hotSets.current().hotBytes() > small, "the hot set grew into the new budget");
        assertTrue(run.hotSets.current().hotBytes() <= large);
        run.knob.close();
    }
}
