package dev.ember.cache.tiered;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.knob.Budget;
import dev.ember.cache.knob.Hysteresis;
import dev.ember.cache.knob.KnobChoice;
import dev.ember.cache.knob.KnobMode;
import dev.ember.cache.knob.KnobSchedule;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.ZipfWorkload;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Counting behind the steps against counting at once: random Zipf batches (fixed seeds) counted
 * by a plain reference (each batch recorded and each step marked on the test thread) and through
 * {@link PopularityCounting} with a counting thread made to lag 0-300 us before each batch and
 * step mark, each with a knob schedule evaluating as it goes (freezes, logs, replays behind the
 * steps, lag 0 evaluations on the step thread; evaluations started on the step thread after a
 * drain, or handed over to the counting thread to start once it has counted their step). Every knob choice and the counters' checkpoint
 * bytes at random steps must be equal bit for bit: a batch lost, counted twice, out of order or
 * against the wrong step, or counts read before the batches before them were counted, changes
 * the counts (each access adds a weight that depends on its step) and so the bytes.
 */
class PopularityCountingTest {
    private static final int SAMPLES = 384;

    private static List<TableSpec> specs() {
        return List.of(new TableSpec("a", 40_000, 8, Optimizer.SGD), new TableSpec("b", 3_000, 8, Optimizer.SGD),
                new TableSpec("c", 15_000, 8, Optimizer.SGD), new TableSpec("d", 500, 8, Optimizer.SGD));
    }

    @Test
    void behindTheStepsEqualsCountingAtOnceWithEvaluationsBehindTheSteps() {
        compare(4, 3, 0.7, 240, 11, false); // frozen most of the time; decays fast enough to renormalise and drop rows
    }

    @Test
    void behindTheStepsEqualsCountingAtOnceWithEvaluationsStartedByTheCountingThread() {
        compare(4, 3, 0.7, 240, 13, true);
        compare(5, 1, 20, 120, 14, true);
    }

    @Test
    void behindTheStepsEqualsCountingAtOnceWithEvaluationsOnTheStepThread() {
        compare(3, 0, 50, 120, 12, false);
        compare(3, 0, 50, 120, 15, true); // lag 0: drains and evaluates on the step thread, handed over or not
    }

    /**
     * A step mark, handed over at every step boundary, leaves a counting thread that ran out of
     * work asleep (waking it there gave it the step thread's core on a busy host); whatever waits
     * for the counts wakes it, and the mark is counted then.
     */
    @Test
    void aStepMarkLeavesTheCountingThreadAsleepAndADrainWakesIt() throws Exception {
        List<TableSpec> specs = specs();
        DecayingCounters counters = new DecayingCounters(specs, DecayingCounters.decayForHalfLife(50));
        try (PopularityCounting counting = PopularityCounting.behind(counters, specs.size(), SAMPLES, 1)) {
            long until = System.nanoTime() + 10_000_000_000L;
            while (!counting.countingThreadAsleep() && System.nanoTime() < until) {
                Thread.sleep(1);
            }
            assertTrue(counting.countingThreadAsleep(), "with nothing to count, the counting thread parks");
            counting.advanceTo(7);
            Thread.sleep(50);
            assertTrue(counting.countingThreadAsleep(), "a step mark alone does not wake it");
            assertEquals(0, counters.clock(), "nor is it counted yet");
            counting.drain();
            assertEquals(7, counters.clock(), "a drain wakes it and waits for the mark");
        }
    }

    private static void compare(int period, int lag, double halfLife, int steps, long seed, boolean handOver) {
        List<TableSpec> specs = specs();
        double decay = DecayingCounters.decayForHalfLife(halfLife);
        Budget budget = Budget.ofBytes(900L * specs.get(0).layout().bytesPerRow());
        DecayingCounters ref = new DecayingCounters(specs, decay);
        DecayingCounters behind = new DecayingCounters(specs, decay);
        SplittableRandom lagRnd = new SplittableRandom(seed); // the counting thread's alone
        Runnable lagging = () -> LockSupport.parkNanos(lagRnd.nextLong(300_000));
        ZipfWorkload w = new ZipfWorkload(specs, new double[] {1.05, 0.9, 1.2, 0.8}, seed);
        PooledBatch[] batch = w.newBatch(SAMPLES);
        DedupedIds[] dedup = new DedupedIds[specs.size()];
        for (int t = 0; t < dedup.length; t++) {
            dedup[t] = new DedupedIds();
        }
        SplittableRandom rnd = new SplittableRandom(seed * 31);
        int choices = 0;
        int checkpoints = 0;
        try (PopularityCounting counting = PopularityCounting.behind(behind, specs.size(), SAMPLES, 2, lagging);
             KnobSchedule refKnob = new KnobSchedule(ref, HotSet.empty(specs), KnobMode.CACHE, budget,
                     Hysteresis.DEFAULT, period, lag);
             KnobSchedule knob = new KnobSchedule(behind, HotSet.empty(specs), KnobMode.CACHE, budget,
                     Hysteresis.DEFAULT, period, lag)) {
            for (int step = 0; step < steps; step++) {
                if (step % 60 == 59) {
                    w.drift();
                }
                w.fill(batch, SAMPLES);
                for (int t = 0; t < dedup.length; t++) {
                    dedup[t].build(batch[t]);
                    ref.record(t, dedup[t]);
                }
                counting.count(dedup); // rebuilt at the next step while the counting thread may still be behind
                ref.advanceTo(step + 1);
                KnobChoice want = refKnob.onStep(step + 1);
                counting.advanceTo(step + 1);
                KnobChoice got = handOver ? knob.onStep(step + 1, counting::drain, counting::runAfterCounts)
                        : knob.onStep(step + 1, counting::drain);
                if (want == null) {
                    assertNull(got, "no choice due at step " + (step + 1));
                } else {
                    assertNotNull(got, "a choice due at step " + (step + 1));
                    assertSameChoice(want, got, step + 1);
                    choices++;
                }
                if (rnd.nextInt(25) == 0) {
                    // A checkpoint's reads: the knob's form first (it completes an evaluation and thaws).
                    counting.drain();
                    refKnob.toBytes();
                    knob.toBytes();
                    assertArrayEquals(ref.toBytes(), behind.toBytes(), "counters at the checkpoint of step " + (step + 1));
                    checkpoints++;
                }
            }
            counting.drain();
            assertEquals(ref.recorded(), behind.recorded(), "accesses recorded");
            refKnob.toBytes();
            knob.toBytes();
            assertArrayEquals(ref.toBytes(), behind.toBytes(), "counters after " + steps + " steps");
            assertEquals((steps - lag) / period, choices, "knob choices compared");
            assertTrue(checkpoints > 0, "checkpoints compared");
            assertTrue(counting.waits() > 0 && counting.waitNanos() > 0,
                    "the lagging counting thread made the knob's and the checkpoints' drains wait");
            assertEquals(handOver && lag > 0 ? steps / period : 0, counting.tasksRun(),
                    "evaluations started by the counting thread");
            assertTrue(counting.mostBehind() > 1, "batches queued behind the steps: " + counting.mostBehind());
            assertEquals(steps, counting.batchesBehind());
        }
    }

    private static void assertSameChoice(KnobChoice want, KnobChoice got, long step) {
        assertTrue(want.hotSet().sameRows(got.hotSet()), "hot rows chosen at step " + step);
        assertEquals(want.usedBytes(), got.usedBytes(), "bytes used at step " + step);
        assertEquals(Double.doubleToRawLongBits(want.hitRate()), Double.doubleToRawLongBits(got.hitRate()),
                "hit rate at step " + step);
        assertEquals(Double.doubleToRawLongBits(want.allHotRate()), Double.doubleToRawLongBits(got.allHotRate()),
                "all-hot rate at step " + step);
    }

    @Test
    void countingThreadsAreHalfTheStoresUnlessSetAndABadSettingIsNamed() {
        String before = System.getProperty(PopularityCounting.THREADS_PROPERTY);
        try {
            System.clearProperty(PopularityCounting.THREADS_PROPERTY);
            assertEquals(3, PopularityCounting.threads(6));
            assertEquals(1, PopularityCounting.threads(1));
            System.setProperty(PopularityCounting.THREADS_PROPERTY, "3");
            assertEquals(3, PopularityCounting.threads(8));
            for (String bad : new String[] {"0", "two"}) {
                System.setProperty(PopularityCounting.THREADS_PROPERTY, bad);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PopularityCounting.threads(6));
                assertTrue(e.getMessage().startsWith("-Dember.count.threads=" + bad + ": "), e.getMessage());
            }
        } finally {
            if (before == null) {
                System.clearProperty(PopularityCounting.THREADS_PROPERTY);
            } else {
                System.setProperty(PopularityCounting.THREADS_PROPERTY, before);
            }
        }
    }

    @Test
    void theRingIsThirtyTwoUnlessSetAndABadSettingIsNamedAndAFullRingCountsTheSame() {
        String before = System.getProperty(PopularityCounting.RING_PROPERTY);
        try {
            System.clearProperty(PopularityCounting.RING_PROPERTY);
            assertEquals(32, PopularityCounting.ringSize());
            for (String bad : new String[] {"2", "12", "eight"}) {
                System.setProperty(PopularityCounting.RING_PROPERTY, bad);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, PopularityCounting::ringSize);
                assertTrue(e.getMessage().startsWith("-Dember.count.ring=" + bad + ": "), e.getMessage());
            }
            // The smallest ring, with the counting thread lagging: handovers wait for a free slot.
            System.setProperty(PopularityCounting.RING_PROPERTY, "4");
            compare(4, 3, 0.7, 120, 16, true);
        } finally {
            if (before == null) {
                System.clearProperty(PopularityCounting.RING_PROPERTY);
            } else {
                System.setProperty(PopularityCounting.RING_PROPERTY, before);
            }
        }
    }

    @Test
    void aStepBeforeTheClockFailsAtOnce() {
        DecayingCounters c = new DecayingCounters(specs(), 0.99);
        c.advanceTo(5); // moved by the step thread while it held them (a caller of popularity())
        try (PopularityCounting counting = PopularityCounting.behind(c, 4, 16, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> counting.advanceTo(4));
            assertEquals("step 4 is before the counters' step 5", e.getMessage());
            counting.advanceTo(7);
            IllegalArgumentException later = assertThrows(IllegalArgumentException.class, () -> counting.advanceTo(6));
            assertEquals("step 6 is before the counters' step 7", later.getMessage());
            counting.drain();
            assertEquals(7, c.clock());
        }
    }

    @Test
    void aFailureBehindTheStepsReachesTheStepThreadAndNothingMoreIsCounted() {
        List<TableSpec> specs = specs();
        DecayingCounters c = new DecayingCounters(specs, 1.0);
        int[] ops = {0};
        Runnable failThird = () -> {
            if (++ops[0] == 3) {
                throw new IllegalStateException("disk on fire");
            }
        };
        DedupedIds[] dedup = new DedupedIds[specs.size()];
        for (int t = 0; t < dedup.length; t++) {
            dedup[t] = new DedupedIds().build(new PooledBatch(4, 4).add(t).endBag());
        }
        try (PopularityCounting counting = PopularityCounting.behind(c, specs.size(), 4, 2, failThird)) {
            counting.count(dedup);
            counting.advanceTo(1);
            counting.count(dedup);
            IllegalStateException e = assertThrows(IllegalStateException.class, counting::drain);
            assertTrue(e.getMessage().contains("disk on fire") && e.getMessage().contains("-Dember.count.behind=false"),
                    e.getMessage());
            assertThrows(IllegalStateException.class, () -> counting.count(dedup));
            assertEquals(specs.size(), c.recorded(), "the first batch only");
        }
    }

    @Test
    void aTaskHandedOverRunsAfterTheCountsBeforeItEvenWhenCountingFailedMeanwhile() throws Exception {
        List<TableSpec> specs = specs();
        DecayingCounters c = new DecayingCounters(specs, 1.0);
        java.util.concurrent.CountDownLatch handedOver = new java.util.concurrent.CountDownLatch(1);
        int[] ops = {0};
        Runnable holdThenFailThird = () -> {
            if (++ops[0] == 1) {
                try {
                    handedOver.await(); // every operation below is handed over before the first runs
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (ops[0] == 3) {
                throw new IllegalStateException("disk on fire");
            }
        };
        DedupedIds[] dedup = new DedupedIds[specs.size()];
        for (int t = 0; t < dedup.length; t++) {
            dedup[t] = new DedupedIds().build(new PooledBatch(4, 4).add(t).endBag());
        }
        long[] seen = new long[2];
        java.util.concurrent.CompletableFuture<Long> late = new java.util.concurrent.CompletableFuture<>();
        try (PopularityCounting counting = PopularityCounting.behind(c, specs.size(), 4, 2, holdThenFailThird)) {
            counting.count(dedup);
            counting.runAfterCounts(() -> {
                seen[0] = c.recorded();
                seen[1] = c.clock();
            });
            counting.count(dedup); // fails
            counting.advanceTo(1); // skipped
            counting.runAfterCounts(() -> late.complete(c.recorded())); // runs all the same
            handedOver.countDown();
            assertEquals(specs.size(), late.get(10, java.util.concurrent.TimeUnit.SECONDS), "the first batch only");
            assertThrows(IllegalStateException.class, counting::drain);
            assertEquals(specs.size(), seen[0], "the first task saw the batch before it counted");
            assertEquals(0, seen[1], "and no step mark after it");
            assertEquals(2, counting.tasksRun());
        }
    }
}
