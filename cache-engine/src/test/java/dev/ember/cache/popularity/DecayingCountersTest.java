package dev.ember.cache.popularity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DecayingCountersTest {
    static final List<TableSpec> TABLES = List.of(
            new TableSpec("a", 5_000, 8, Optimizer.SGD),
            new TableSpec("b", 300, 8, Optimizer.SGD));

    /** The plain float64 definition: every step multiply every counter by decay, add 1 per access. */
    static final class Reference {
        final double decay;
        final List<Map<Integer, Double>> counts = List.of(new HashMap<>(), new HashMap<>());

        Reference(double decay) {
            this.decay = decay;
        }

        void step() {
            for (Map<Integer, Double> m : counts) {
                m.replaceAll((k, v) -> v * decay);
            }
        }

        void record(int t, int row) {
            counts.get(t).merge(row, 1.0, Double::sum);
        }
    }

    @Test
    void equalsAFloat64ReferenceOfTheExactDecayAcrossRenormalisations() {
        for (double decay : new double[] {1.0, 0.99, 0.5}) {
            // decay 0.5: the forward weight passes 2^256 every 256 steps, so this renormalises 5 times.
            SplittableRandom rnd = new SplittableRandom(17);
            DecayingCounters c = new DecayingCounters(TABLES, decay);
            Reference ref = new Reference(decay);
            for (int step = 1; step <= 1_500; step++) {
                c.advanceTo(step);
                ref.step();
                int n = rnd.nextInt(40);
                for (int i = 0; i < n; i++) {
                    int t = rnd.nextInt(2);
                    int row = (int) Math.min(TABLES.get(t).rows() - 1, (long) (Math.pow(rnd.nextDouble(), 4) * TABLES.get(t).rows()));
                    c.record(t, row);
                    ref.record(t, row);
                }
                if (step % 97 == 0) {
                    check(c, ref);
                }
            }
            check(c, ref);
        }
    }

    static void check(DecayingCounters c, Reference ref) {
        for (int t = 0; t < 2; t++) {
            Map<Integer, Double> expected = ref.counts.get(t);
            double total = 0;
            for (int row = 0; row < TABLES.get(t).rows(); row++) {
                double e = expected.getOrDefault(row, 0.0);
                total += e;
                assertEquals(e, c.score(t, row), 1e-9 * Math.max(1, e) + 1e-11, "decay " + c.decay() + " table " + t + " row " + row);
            }
            assertEquals(total, c.total(t), 1e-9 * Math.max(1, total));
            Map<Integer, Double> seen = new HashMap<>();
            c.forEachScored(t, (row, s) -> seen.put(row, s));
            for (Map.Entry<Integer, Double> e : seen.entrySet()) {
                assertEquals(c.score(t, e.getKey()), e.getValue(), 1e-12 * Math.max(1, e.getValue()));
            }
            for (Map.Entry<Integer, Double> e : expected.entrySet()) {
                if (e.getValue() >= 1e-11) {
                    assertTrue(seen.containsKey(e.getKey()), "scored rows must include row " + e.getKey());
                }
            }
        }
    }

    @Test
    void manyFirstTouchesBetweenReadsAreAllScoredAndCheckpointed() {
        // More rows first touched between two reads than a table buffers (16K), so they go into the
        // bitmap both when the buffer fills and when the rows are read.
        List<TableSpec> big = List.of(new TableSpec("big", 200_000, 8, Optimizer.SGD), new TableSpec("small", 700, 8, Optimizer.SGD));
        SplittableRandom rnd = new SplittableRandom(31);
        DecayingCounters c = new DecayingCounters(big, 1.0);
        List<Map<Integer, Double>> ref = List.of(new HashMap<>(), new HashMap<>());
        for (int round = 0; round < 6; round++) {
            int accesses = 5_000 + rnd.nextInt(60_000);
            for (int i = 0; i < accesses; i++) {
                int t = rnd.nextInt(8) == 0 ? 1 : 0;
                int row = rnd.nextInt((int) big.get(t).rows());
                c.record(t, row);
                ref.get(t).merge(row, 1.0, Double::sum);
            }
            c.advanceTo(round + 1);
            DecayingCounters restored = DecayingCounters.fromBytes(c.toBytes(), big);
            for (DecayingCounters d : List.of(c, restored)) {
                for (int t = 0; t < 2; t++) {
                    assertEquals(ref.get(t).size(), d.scoredRows(t), "round " + round + " table " + t);
                    Map<Integer, Double> seen = new HashMap<>();
                    d.forEachScored(t, seen::put);
                    assertEquals(ref.get(t), seen, "round " + round + " table " + t);
                }
            }
        }
    }

    @Test
    void freezingLogsAndThawingReplaysBitForBit() {
        SplittableRandom rnd = new SplittableRandom(5);
        DecayingCounters direct = new DecayingCounters(TABLES, 0.6);
        DecayingCounters frozen = new DecayingCounters(TABLES, 0.6);
        for (int step = 1; step <= 1_200; step++) {
            if (step % 300 == 1) {
                frozen.freeze();
            }
            direct.advanceTo(step);
            frozen.advanceTo(step);
            double before = frozen.score(0, 0);
            for (int i = 0; i < 20; i++) {
                int t = rnd.nextInt(2);
                int row = rnd.nextInt(t == 0 ? 50 : 300);
                direct.record(t, row);
                frozen.record(t, row);
            }
            if (frozen.frozen()) {
                assertEquals(before, frozen.score(0, 0), "frozen counts stand still");
            }
            if (step % 300 == 150) {
                frozen.thaw();
            }
        }
        assertEquals(direct.recorded(), frozen.recorded());
        assertBitIdentical(direct, frozen);
    }

    /**
     * The knob's way: a thread replays the log behind the steps while the step thread keeps
     * recording, and the step thread takes the counts back when it has caught up. Several
     * freezes, logs over many segments, renormalisations inside the replay, a checkpoint taken
     * while a replay runs: the counts are those of counters never frozen, bit for bit, whether
     * the replay runs on the knob's thread alone or spread over tables on other threads.
     */
    @ParameterizedTest(name = "replay spread over tables on threads: {0}")
    @ValueSource(booleans = {false, true})
    void replayingBehindTheStepsOnAnotherThreadGivesTheSameCounts(boolean spread) throws Exception {
        SplittableRandom rnd = new SplittableRandom(17);
        DecayingCounters direct = new DecayingCounters(TABLES, 0.6);
        DecayingCounters behind = new DecayingCounters(TABLES, 0.6);
        java.util.concurrent.ExecutorService knob = java.util.concurrent.Executors.newSingleThreadExecutor();
        java.util.concurrent.ExecutorService lanes = java.util.concurrent.Executors.newFixedThreadPool(2);
        if (spread) {
            behind.replayOn(DecayingCounters.TableRunner.on(lanes));
        }
        PooledBatch[] batch = {new PooledBatch(400, 400), new PooledBatch(400, 400)};
        long[] ids = new long[400];
        java.util.concurrent.Future<?> replay = null;
        boolean sawBehind = false;
        long replayedAtFreeze = 0;
        try {
            for (int step = 1; step <= 3_000; step++) {
                direct.advanceTo(step);
                behind.advanceTo(step);
                if (step % 400 == 1) {
                    behind.catchUp(); // the last replay may not have started (the knob does this too)
                    replayedAtFreeze = behind.replayedBehind();
                    long epoch = behind.freeze();
                    int delayMs = 5 + rnd.nextInt(20); // the evaluation's time
                    replay = knob.submit(() -> {
                        sleep(delayMs);
                        behind.replayBehind(epoch);
                    });
                }
                for (int t = 0; t < 2; t++) {
                    int n = 1 + rnd.nextInt(400);
                    for (int i = 0; i < n; i++) {
                        ids[i] = rnd.nextInt(t == 0 ? 5_000 : 300);
                    }
                    batch[t].setOneHot(ids, n);
                    direct.record(t, batch[t]);
                }
                behind.record(batch);
                if (step % 400 == 200) {
                    // Mid-period the knob's thread replays while the steps go on (wait until it has
                    // begun, unless this thread already took a short backlog back).
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (behind.replayedBehind() <= replayedAtFreeze && behind.frozen() && System.nanoTime() < deadline) {
                        Thread.sleep(1);
                    }
                    sawBehind |= behind.replayedBehind() > replayedAtFreeze;
                }
                if (step == 2_300) {
                    behind.catchUp(); // a checkpoint while the knob's thread replays: waits for it to catch up
                    assertBitIdentical(direct, DecayingCounters.fromBytes(behind.toBytes(), TABLES));
                }
            }
            behind.catchUp();
            replay.get(10, java.util.concurrent.TimeUnit.SECONDS); // it ends once the counts are taken back
        } finally {
            knob.shutdownNow();
            lanes.shutdownNow();
        }
        assertTrue(sawBehind, "the knob's thread replayed while the steps went on");
        assertTrue(behind.replayedBehind() > 3 * AccessLog.SEGMENT_LONGS, "logs span several segments");
        assertEquals(direct.recorded(), behind.recorded());
        assertBitIdentical(direct, behind);
    }

    /**
     * More tables than replay groups (so a group replays several tables from one read of the log),
     * ids repeated within a batch (count marks), renormalisations inside the replays: a replay on
     * three threads ends bit for bit where counters never frozen are.
     */
    @Test
    void replayingGroupsOfTablesGivesTheCountsOfCountersNeverFrozen() throws Exception {
        List<TableSpec> tables = new java.util.ArrayList<>();
        for (int t = 0; t < 2 * DecayingCounters.REPLAY_GROUPS + 3; t++) {
            tables.add(new TableSpec("t" + t, 50 + 37L * t, 4, Optimizer.SGD));
        }
        SplittableRandom rnd = new SplittableRandom(41);
        DecayingCounters direct = new DecayingCounters(tables, 0.5);
        DecayingCounters behind = new DecayingCounters(tables, 0.5);
        java.util.concurrent.ExecutorService lanes = java.util.concurrent.Executors.newFixedThreadPool(3);
        behind.replayOn(DecayingCounters.TableRunner.on(lanes));
        long[] unique = new long[20];
        int[] occStart = new int[21];
        try {
            for (int step = 1; step <= 1_500; step++) {
                direct.advanceTo(step);
                behind.advanceTo(step);
                if (step % 250 == 1) {
                    behind.freeze();
                }
                for (int t = 0; t < tables.size(); t++) {
                    int n = rnd.nextInt(unique.length + 1);
                    for (int u = 0; u < n; u++) {
                        unique[u] = rnd.nextInt((int) tables.get(t).rows()); // may repeat: counted as given
                        occStart[u + 1] = occStart[u] + 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(5) : 0);
                    }
                    direct.record(t, unique, occStart, n);
                    behind.record(t, unique, occStart, n);
                }
                if (step % 250 == 200) {
                    behind.thaw(); // replays the log over the groups
                    assertBitIdenticalOver(tables, direct, behind);
                }
            }
        } finally {
            lanes.shutdownNow();
        }
        assertEquals(direct.recorded(), behind.recorded());
        assertBitIdenticalOver(tables, direct, behind);
    }

    /**
     * The step thread logs every step (a step's work apart) for long: the knob's thread
     * never finds the log's end, yet the counts come back live soon after its replay begins, the
     * step thread replaying the short rest itself; nothing had to call catchUp, and the counts
     * are those of counters never frozen.
     */
    @Test
    void theStepThreadTakesTheCountsBackFromAReplayThatNeverReachesTheEnd() throws Exception {
        SplittableRandom rnd = new SplittableRandom(29);
        DecayingCounters direct = new DecayingCounters(TABLES, 0.9);
        DecayingCounters behind = new DecayingCounters(TABLES, 0.9);
        java.util.concurrent.ExecutorService lanes = java.util.concurrent.Executors.newFixedThreadPool(2);
        behind.replayOn(DecayingCounters.TableRunner.on(lanes));
        PooledBatch[] batch = {new PooledBatch(400, 400), new PooledBatch(400, 400)};
        long[] ids = new long[400];
        Thread replayer = null;
        int liveAt = -1;
        try {
            for (int step = 1; step <= 5_000 && liveAt < 0; step++) {
                direct.advanceTo(step);
                behind.advanceTo(step);
                if (step == 2) {
                    long epoch = behind.freeze();
                    replayer = new Thread(() -> behind.replayBehind(epoch), "replayer");
                }
                if (step == 600) {
                    replayer.start(); // the evaluation is done: about 480K entries logged by now
                }
                recordStep(rnd, batch, ids, direct, behind);
                if (step > 600 && !behind.frozen()) {
                    liveAt = step;
                }
                long until = System.nanoTime() + 100_000; // the step's own work (a dense step), while the log waits
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            }
            replayer.join(10_000);
        } finally {
            lanes.shutdownNow();
        }
        assertTrue(liveAt > 600, "the counts came back live while the steps went on (at step " + liveAt + ")");
        assertTrue(behind.replayedBehind() >= DecayingCounters.MIN_ROUND, "the knob's thread replayed most of the log");
        assertTrue(!replayer.isAlive(), "the replayer left once the counts were taken back");
        assertBitIdentical(direct, behind);
    }

    /**
     * The next evaluation's freeze comes while the knob's thread is still replaying the last
     * one's log (a slow replay): {@link DecayingCounters#freezeBehind} does not wait for it; the
     * knob's thread replays up to the freeze, and the counts it reads are exactly those of
     * counters never frozen at that step; the replay behind then goes on, and the counts end bit
     * for bit as if never frozen.
     */
    @Test
    void aFreezeBehindAReplayStillRunningDoesNotWaitAndStandsAtItsStep() throws Exception {
        SplittableRandom rnd = new SplittableRandom(31);
        DecayingCounters direct = new DecayingCounters(TABLES, 0.8);
        DecayingCounters behind = new DecayingCounters(TABLES, 0.8);
        java.util.concurrent.ExecutorService lanes = java.util.concurrent.Executors.newFixedThreadPool(2);
        DecayingCounters.TableRunner quick = DecayingCounters.TableRunner.on(lanes);
        java.util.concurrent.CountDownLatch replaying = new java.util.concurrent.CountDownLatch(1);
        behind.replayOn((n, task) -> {
            replaying.countDown();
            sleep(30); // a stretch takes long: the replay is behind the steps
            quick.run(n, task);
        });
        PooledBatch[] batch = {new PooledBatch(400, 400), new PooledBatch(400, 400)};
        long[] ids = new long[400];
        Thread first = null;
        Thread second = null;
        try {
            for (int step = 1; step <= 700; step++) {
                direct.advanceTo(step);
                behind.advanceTo(step);
                if (step == 50) {
                    long epoch = behind.freeze();
                    first = new Thread(() -> behind.replayBehind(epoch), "first replay");
                }
                if (step == 399) {
                    first.start(); // the first evaluation is done
                    assertTrue(replaying.await(10, java.util.concurrent.TimeUnit.SECONDS));
                }
                if (step == 400) {
                    assertTrue(behind.frozen() && first.isAlive(), "the first replay is on its first stretch");
                    long t0 = System.nanoTime();
                    long epoch = behind.freezeBehind();
                    assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "the freeze did not wait for the replay");
                    DecayingCounters atFreeze = DecayingCounters.fromBytes(direct.toBytes(), TABLES);
                    behind.replayToFreeze(epoch); // the knob's thread's part (here: the test's)
                    first.join(10_000);
                    assertTrue(!first.isAlive(), "the first replay left at the new freeze");
                    assertBitIdentical(atFreeze, behind);
                    second = new Thread(() -> behind.replayBehind(epoch), "second replay");
                    second.start();
                }
                recordStep(rnd, batch, ids, direct, behind);
            }
            behind.catchUp();
            second.join(10_000);
        } finally {
            lanes.shutdownNow();
        }
        assertTrue(!second.isAlive(), "the second replay left once the counts were taken back");
        assertBitIdentical(direct, behind);
    }

    /**
     * A freeze behind a replay that has more than the bound left takes the counts back first:
     * memory stays bounded when the replay is slower than the steps, and the counts stand at the
     * freeze's step with nothing left for the knob's thread to replay.
     */
    @Test
    void aFreezeBehindTooLongABacklogTakesTheCountsBackFirst() throws Exception {
        SplittableRandom rnd = new SplittableRandom(37);
        DecayingCounters direct = new DecayingCounters(TABLES, 0.8);
        DecayingCounters behind = new DecayingCounters(TABLES, 0.8);
        PooledBatch[] batch = {new PooledBatch(400, 400), new PooledBatch(400, 400)};
        long[] ids = new long[400];
        long epoch = 0;
        for (int step = 1; step <= 300; step++) {
            direct.advanceTo(step);
            behind.advanceTo(step);
            if (step == 10) {
                epoch = behind.freeze(); // its replay never starts: everything since waits
            }
            if (step == 200) {
                long backlog = 190L * 801;
                long before = behind.replayedBehind();
                long next = behind.freezeBehind(backlog / 2);
                assertEquals(epoch + 1, next);
                assertBitIdentical(direct, behind); // taken back and frozen at this step, nothing left to replay
                behind.replayToFreeze(next);
                assertEquals(before, behind.replayedBehind(), "nothing was left for the knob's thread");
                behind.thaw();
            }
            recordStep(rnd, batch, ids, direct, behind);
        }
        assertBitIdentical(direct, behind);
    }

    /** One step's batch, 400 random ids a table, counted directly into {@code direct} and per table into {@code behind}. */
    private static void recordStep(SplittableRandom rnd, PooledBatch[] batch, long[] ids, DecayingCounters direct,
                                   DecayingCounters behind) {
        for (int t = 0; t < 2; t++) {
            for (int i = 0; i < 400; i++) {
                ids[i] = rnd.nextInt(t == 0 ? 5_000 : 300);
            }
            batch[t].setOneHot(ids, 400);
            direct.record(t, batch[t]);
        }
        behind.record(batch);
    }

    private static void sleep(int ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void blobRestoresExactlyAndTheRestoredCountersContinueIdentically() {
        SplittableRandom rnd = new SplittableRandom(9);
        DecayingCounters c = new DecayingCounters(TABLES, 0.7);
        DecayingCounters restored = null;
        for (int step = 1; step <= 1_000; step++) {
            c.advanceTo(step);
            if (restored != null) {
                restored.advanceTo(step);
            }
            for (int i = 0; i < 30; i++) {
                int t = rnd.nextInt(2);
                int row = rnd.nextInt(t == 0 ? 2_000 : 300);
                c.record(t, row);
                if (restored != null) {
                    restored.record(t, row);
                }
            }
            if (step == 400) {
                restored = DecayingCounters.fromBytes(c.toBytes(), TABLES);
                assertBitIdentical(c, restored);
            }
        }
        assertBitIdentical(c, restored);
        c.freeze();
        IllegalStateException e = assertThrows(IllegalStateException.class, c::toBytes);
        assertTrue(e.getMessage().contains("knob"), e.getMessage());
        DecayingCounters last = restored;
        assertThrows(IllegalArgumentException.class,
                () -> DecayingCounters.fromBytes(last.toBytes(), List.of(TABLES.get(0), new TableSpec("b", 301, 8, Optimizer.SGD))));
    }

    @Test
    void badSettingsAreRefusedNamingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new DecayingCounters(TABLES, 1.5));
        assertTrue(e.getMessage().contains("decay"));
        DecayingCounters c = new DecayingCounters(TABLES, 0.9);
        c.advanceTo(10);
        e = assertThrows(IllegalArgumentException.class, () -> c.advanceTo(9));
        assertTrue(e.getMessage().contains("step 9"));
        assertEquals(0.5, Math.pow(DecayingCounters.decayForHalfLife(20), 20), 1e-12);
    }

    /**
     * Counting a batch from its deduplication (each unique id as many times as it occurs): every
     * row's count equals counting each id, bit for bit, the totals to rounding; and frozen, logged
     * with count marks and replayed (on the step thread and behind it), it equals the same
     * counting never frozen, bit for bit.
     */
    @ParameterizedTest(name = "replay spread over tables on threads: {0}")
    @ValueSource(booleans = {false, true})
    void countingUniqueIdsWithTheirOccurrencesEqualsCountingEachIdAndReplaysBitForBit(boolean spread) throws Exception {
        SplittableRandom rnd = new SplittableRandom(23);
        DecayingCounters perId = new DecayingCounters(TABLES, 0.6);
        DecayingCounters direct = new DecayingCounters(TABLES, 0.6);
        DecayingCounters logged = new DecayingCounters(TABLES, 0.6);
        java.util.concurrent.ExecutorService knob = java.util.concurrent.Executors.newSingleThreadExecutor();
        java.util.concurrent.ExecutorService lanes = java.util.concurrent.Executors.newFixedThreadPool(2);
        if (spread) {
            logged.replayOn(DecayingCounters.TableRunner.on(lanes));
        }
        PooledBatch batch = new PooledBatch(200, 200);
        dev.ember.cache.batch.DedupedIds dedup = new dev.ember.cache.batch.DedupedIds();
        try {
            for (int step = 1; step <= 900; step++) {
                if (step % 200 == 1) {
                    long epoch = logged.freeze();
                    if (step % 400 == 1) {
                        knob.submit(() -> logged.replayBehind(epoch));
                    }
                }
                perId.advanceTo(step);
                direct.advanceTo(step);
                logged.advanceTo(step);
                for (int t = 0; t < 2; t++) {
                    batch.clear();
                    for (int bag = rnd.nextInt(60); bag > 0; bag--) {
                        for (int k = rnd.nextInt(3); k >= 0; k--) {
                            batch.add((long) (Math.pow(rnd.nextDouble(), 3) * (t == 0 ? 80 : 300)));
                        }
                        batch.endBag();
                    }
                    dedup.build(batch);
                    perId.record(t, batch);
                    direct.record(t, dedup);
                    logged.record(t, dedup);
                }
                if (step % 200 == 150 && logged.frozen()) {
                    logged.thaw();
                }
            }
            logged.catchUp();
        } finally {
            knob.shutdownNow();
            lanes.shutdownNow();
        }
        assertEquals(perId.recorded(), direct.recorded());
        assertBitIdentical(direct, logged);
        for (int t = 0; t < 2; t++) {
            for (int row = 0; row < TABLES.get(t).rows(); row++) {
                assertEquals(Double.doubleToRawLongBits(perId.score(t, row)), Double.doubleToRawLongBits(direct.score(t, row)),
                        "table " + t + " row " + row);
            }
            assertEquals(perId.total(t), direct.total(t), 1e-12 * perId.total(t));
        }
    }

    static void assertBitIdentical(DecayingCounters x, DecayingCounters y) {
        assertBitIdenticalOver(TABLES, x, y);
    }

    static void assertBitIdenticalOver(List<TableSpec> tables, DecayingCounters x, DecayingCounters y) {
        for (int t = 0; t < tables.size(); t++) {
            assertEquals(x.scoredRows(t), y.scoredRows(t));
            assertEquals(Double.doubleToRawLongBits(x.total(t)), Double.doubleToRawLongBits(y.total(t)));
            for (int row = 0; row < tables.get(t).rows(); row++) {
                assertEquals(Double.doubleToRawLongBits(x.score(t, row)), Double.doubleToRawLongBits(y.score(t, row)),
                        "table " + t + " row " + row);
            }
        }
    }

    @Test
    void tablesOnAPoolAreAllDoneBeforeAFailureIsRethrown() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.concurrent.atomic.AtomicIntegerArray finished = new java.util.concurrent.atomic.AtomicIntegerArray(6);
            java.util.concurrent.CountDownLatch failedFirst = new java.util.concurrent.CountDownLatch(1);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> DecayingCounters.TableRunner.on(pool).run(6, t -> {
                        if (t == 0) {
                            failedFirst.countDown();
                            throw new IllegalArgumentException("table 0 is bad");
                        }
                        try {
                            failedFirst.await(); // the others finish after the failure
                            Thread.sleep(20);
                        } catch (InterruptedException ie) {
                            Thread.currentThread().interrupt();
                        }
                        finished.set(t, 1);
                    }));
            assertEquals("table 0 is bad", e.getCause().getMessage());
            for (int t = 1; t < 6; t++) {
                assertEquals(1, finished.get(t), "table " + t + " was still running when the failure came back");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The checkpoint form streams from off-heap: writing 2M counted rows (16 MB of values) takes
     * no heap in proportion to them (the touched-row bitmaps are on the heap already).
     */
    @Test
    void writingTheCountersAllocatesNoHeapInProportionToTheRows() throws Exception {
        List<TableSpec> big = List.of(new TableSpec("big", 4_000_000, 8, Optimizer.SGD));
        DecayingCounters c = new DecayingCounters(big, 0.999);
        for (int row = 0; row < 4_000_000; row += 2) {
            c.record(0, row);
        }
        c.advanceTo(1);
        java.io.DataOutputStream out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(java.io.OutputStream.nullOutputStream()));
        c.writeTo(out); // warm
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        c.writeTo(out);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < 1 << 20, "writing 2M counters allocated " + allocated + " heap bytes");
    }
}
