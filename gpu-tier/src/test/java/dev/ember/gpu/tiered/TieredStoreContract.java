package dev.ember.gpu.tiered;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.CapacityExceededException;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.knob.Budget;
import dev.ember.cache.knob.KnobMode;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.tiered.StepBatch;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.pool.SlotPool;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.roaringbitmap.RoaringBitmap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiered store against a plain reference (one HashMap, no tiers), per device backend: the
 * same random gathers, applies, budget changes and re-tierings give bit-identical pooled bags
 * and rows; lookahead never changes a row.
 */
abstract class TieredStoreContract {
    static final int DIM = 8;
    static final float LR = 0.05f;
    static final float EPS = 1e-8f;
    static final long[] ROWS = {4000, 700, 2500};

    @TempDir
    Path dir;

    private Device device;

    protected abstract Device openDevice();

    /**
     * Whether the device's events answer "not done" for a while after the work is done (a test
     * device): then a promoted row a batch still writes back is mostly left for a later chunk
     * (its read-back not known to have landed), so whether any is taken from the batch depends on
     * the threads' timing, and the tests that count such rows only check the values.
     */
    protected boolean eventsAnswerLate() {
        return false;
    }

    Device device() {
        if (device == null) {
            device = openDevice();
        }
        return device;
    }

    @AfterEach
    void closeDevice() {
        if (device != null) {
            device.close();
        }
    }

    static List<TableSpec> specs() {
        List<TableSpec> s = new ArrayList<>();
        for (int t = 0; t < ROWS.length; t++) {
            s.add(new TableSpec("t" + t, ROWS[t], DIM, Optimizer.ROWWISE_ADAGRAD));
        }
        return s;
    }

    /** One tiered store over a fresh store and slot pool, closed together. */
    /** A rig over a store, pool and tiered store the caller opened (and closes) on {@code device}, outside any contract subclass. */
    static Rig rigOver(Store store, SlotPool pool, TieredStore tiered, Device device) {
        return new TieredStoreContract() {
            @Override
            protected Device openDevice() {
                return device;
            }
        }.new Rig(store, pool, tiered);
    }

    final class Rig implements AutoCloseable {
        final Store store;
        final SlotPool pool;
        final TieredStore tiered;

        Rig(Store store, SlotPool pool, TieredStore tiered) {
            this.store = store;
            this.pool = pool;
            this.tiered = tiered;
        }

        Rig(Path storeDir, TieredConfig config, boolean create) {
            store = create
                    ? Store.create(storeDir, StoreConfig.builder().tables(specs()).seed(42).threads(2).jmx(false).build())
                    : Store.open(storeDir, StoreConfig.builder().jmx(false).build());
            pool = new SlotPool(device(), specs().get(0).layout(), 64 * 1024);
            tiered = TieredStore.open(store, pool, config);
        }

        /**
         * Trains steps {@code [from, to)} of {@code w} with {@code depth} batches submitted ahead;
         * checks each step's pooled bags against {@code ref} (and updates it) when non-null;
         * {@code beforeStep} runs at each boundary before the step's batch is gathered.
         */
        void run(Workload w, long from, long to, int depth, ReferenceRows ref, LongConsumer beforeStep) {
            int tables = ROWS.length;
            ArrayDeque<StepBatch> free = new ArrayDeque<>();
            ArrayDeque<StepBatch> queued = new ArrayDeque<>();
            List<StepBatch> all = new ArrayList<>();
            for (int i = 0; i <= depth; i++) {
                StepBatch b = tiered.newBatch();
                free.add(b);
                all.add(b);
            }
            long next = from;
            float[][] pooled = new float[tables][w.bags * DIM];
            try {
                for (long step = from; step < to; step++) {
                    beforeStep.accept(step);
                    while (next < to && next <= step + depth) {
                        StepBatch b = free.removeFirst();
                        long n = next;
                        // Every way in, mixed: two announces in a row stage the first in the second's run.
                        if (n % 4 == 0) {
                            for (int t = 0; t < tables; t++) {
                                w.fill(n, t, b.ids(t));
                            }
                            tiered.submit(b);
                        } else if (n % 4 == 1) {
                            tiered.submit(b, (t, out) -> w.fill(n, t, out)); // filled on the host threads
                        } else {
                            tiered.announce(b, (t, out) -> w.fill(n, t, out)); // split behind this thread
                        }
                        queued.addLast(b);
                        next++;
                    }
                    StepBatch b = queued.removeFirst();
                    tiered.gather(b, pooled);
                    float[][] g = w.grads(step, tables);
                    if (ref != null) {
                        for (int t = 0; t < tables; t++) {
                            PooledBatch ids = new PooledBatch(w.maxIds(), w.bags);
                            w.fill(step, t, ids);
                            float[] want = ref.pool(t, ids);
                            assertArrayEquals(want, Arrays.copyOf(pooled[t], want.length),
                                    "pooled bags of table " + t + " at step " + step);
                            ref.apply(t, ids, g[t], LR, EPS);
                        }
                    }
                    tiered.apply(b, g, LR, EPS);
                    free.addLast(b);
                    tiered.endStep(step + 1);
                }
            } finally {
                all.forEach(StepBatch::close);
            }
            // Closing the batches landed their write-backs: every insert a prepare counted was put.
            for (var table : store.tables()) {
                assertEquals(0, table.pendingInserts(), "rows still counted as pending inserts in " + table.spec().name());
            }
        }

        /** Every row of every table as the tiered store serves it now. */
        float[][][] allRows() {
            int rowFloats = specs().get(0).layout().floatsPerRow();
            float[][][] out = new float[ROWS.length][][];
            for (int t = 0; t < ROWS.length; t++) {
                int n = (int) ROWS[t];
                long[] ids = new long[n];
                for (int i = 0; i < n; i++) {
                    ids[i] = i;
                }
                ByteBuffer buf = ByteBuffer.allocateDirect(n * rowFloats * 4).order(ByteOrder.LITTLE_ENDIAN);
                tiered.read(t, ids, n, buf);
                out[t] = new float[n][rowFloats];
                for (int i = 0; i < n; i++) {
                    for (int c = 0; c < rowFloats; c++) {
                        out[t][i][c] = buf.getFloat((i * rowFloats + c) * 4);
                    }
                }
            }
            return out;
        }

        @Override
        public void close() {
            tiered.close();
            pool.close();
            store.close();
        }
    }

    /** Three host threads share each step's per-table work (the allocation and drift tests run with one). */
    static TieredConfig config(Workload w, int knobPeriod, int knobLag) {
        return TieredConfig.defaults(Budget.ofBytes(300L * 36), w.bags).withBatch(w.bags, w.maxIds())
                .withKnob(knobPeriod, knobLag).withChunks(64, 2).withMode(KnobMode.CACHE).withHostThreads(3);
    }

    static void assertRowsEqual(ReferenceRows ref, float[][][] rows) {
        for (int t = 0; t < ROWS.length; t++) {
            for (int i = 0; i < ROWS[t]; i++) {
                assertArrayEquals(ref.row(t, i), rows[t][i], "table " + t + " row " + i);
            }
        }
    }

    @Test
    void matchesTheReferenceThroughBudgetChangesAndRetiering() {
        Workload w = new Workload(7, ROWS, 64, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        SplittableRandom rnd = new SplittableRandom(3);
        try (Rig rig = new Rig(dir.resolve("s"), config(w, 4, 1), true)) {
            rig.run(w, 0, 60, 0, ref, step -> {
                if (step == 15) {
                    rig.tiered.setBudget(Budget.ofFraction(0.2));
                } else if (step == 30) {
                    rig.tiered.setBudget(Budget.ofBytes(50L * 36));
                } else if (step == 45) {
                    // An explicit random target, beside the knob's.
                    RoaringBitmap[] maps = new RoaringBitmap[ROWS.length];
                    for (int t = 0; t < maps.length; t++) {
                        maps[t] = new RoaringBitmap();
                        for (int i = 0; i < 40; i++) {
                            maps[t].add(rnd.nextInt((int) ROWS[t]));
                        }
                    }
                    rig.tiered.retarget(HotSet.of(0, specs(), maps));
                }
            });
            assertTrue(rig.tiered.hotSet().generation() > 3, "rows were re-tiered: " + rig.tiered.hotSet());
            long hits = 0;
            long misses = 0;
            for (int t = 0; t < ROWS.length; t++) {
                hits += rig.tiered.counters(t).hotHits();
                misses += rig.tiered.counters(t).coldMisses();
            }
            assertTrue(hits > 0 && misses > 0, "both tiers served ids: " + hits + " hot, " + misses + " cold");
            assertRowsEqual(ref, rig.allRows());
        }
    }

    /**
     * Boundaries whose planning stops almost at once (a microsecond: each plan looks at a few
     * rows) spread the moves over more boundaries: every value still equals the reference, and
     * the hot set still reaches the knob's target.
     */
    @Test
    void boundariesThatStopPlanningEarlyMoveRowsLaterAndChangeNoValue() {
        Workload w = new Workload(23, ROWS, 64, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        try (Rig rig = new Rig(dir.resolve("late"), config(w, 4, 1).withChunks(64, 1), true)) {
            rig.tiered.stopPlanningAfter(1);
            rig.run(w, 0, 40, 2, ref, step -> { });
            assertTrue(rig.tiered.hotSets().lateStops() > 0, "plans stopped at their deadline");
            assertTrue(rig.tiered.hotSets().promotedRows() > 0, "rows still moved");
            assertRowsEqual(ref, rig.allRows());
            rig.tiered.settle();
            assertTrue(rig.tiered.hotSet().sameRows(rig.tiered.hotSets().target()), "settled on the target");
            assertRowsEqual(ref, rig.allRows());
            assertThrows(IllegalArgumentException.class, () -> rig.tiered.stopPlanningAfter(-1));
        }
    }

    @Test
    void aSubmitWithAnIdOutsideItsTableIsRefusedAndTheStoreGoesOnExactly() {
        Workload w = new Workload(5, ROWS, 48, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        try (Rig rig = new Rig(dir.resolve("bad"), config(w, 4, 1).withPrefetchThreads(2), true)) {
            rig.run(w, 0, 10, 2, ref, step -> { });
            long[] lookups = new long[ROWS.length];
            for (int t = 0; t < ROWS.length; t++) {
                lookups[t] = rig.tiered.counters(t).hotHits() + rig.tiered.counters(t).coldMisses();
            }
            StepBatch b = rig.tiered.newBatch();
            try {
                // The other tables are split, and their cold reads started, before or while the last fails.
                for (int t = 0; t < ROWS.length; t++) {
                    w.fill(10, t, b.ids(t));
                }
                int last = ROWS.length - 1;
                long[] ids = new long[w.bags];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = i % ROWS[last];
                }
                ids[ids.length - 1] = ROWS[last] + 7;
                b.ids(last).setOneHot(ids, ids.length);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rig.tiered.submit(b));
                assertTrue(e.getMessage().contains("t" + last) && e.getMessage().contains(Long.toString(ROWS[last] + 7)),
                        "the message names the table and the id: " + e.getMessage());
                for (int t = 0; t < ROWS.length; t++) {
                    assertEquals(lookups[t], rig.tiered.counters(t).hotHits() + rig.tiered.counters(t).coldMisses(),
                            "a refused batch is not counted in table " + t + "'s hits and misses");
                }
            } finally {
                b.close();
            }
            StepBatch late = rig.tiered.newBatch();
            try {
                // Announced: the failure comes from the call that joins the split (here the
                // boundary), and the batch is open again, counted nowhere.
                rig.tiered.announce(late, (t, out) -> {
                    w.fill(10, t, out);
                    if (t == 2) {
                        long[] ids = new long[w.bags];
                        for (int i = 0; i < ids.length; i++) {
                            ids[i] = i % ROWS[2];
                        }
                        ids[ids.length - 1] = ROWS[2] + 3;
                        out.setOneHot(ids, ids.length);
                    }
                });
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rig.tiered.endStep(10));
                assertTrue(e.getMessage().contains("t2") && e.getMessage().contains(Long.toString(ROWS[2] + 3)),
                        "the message names the table and the id: " + e.getMessage());
                for (int t = 0; t < ROWS.length; t++) {
                    assertEquals(lookups[t], rig.tiered.counters(t).hotHits() + rig.tiered.counters(t).coldMisses(),
                            "a refused announce is not counted in table " + t + "'s hits and misses");
                }
                late.ids(0); // open again: its ids can be filled
            } finally {
                late.close();
            }
            StepBatch big = rig.tiered.newBatch();
            try {
                // Filled on the host threads: one table gets more bags than the store's batches hold.
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rig.tiered.submit(big, (t, out) -> {
                    w.fill(10, t, out);
                    if (t == 1) {
                        out.add(0).endBag();
                    }
                }));
                assertTrue(e.getMessage().contains("table t1") && e.getMessage().contains("maxBags"), e.getMessage());
            } finally {
                big.close();
            }
            rig.run(w, 10, 20, 2, ref, step -> { });
            assertRowsEqual(ref, rig.allRows());
        }
    }

    @Test
    void aWriteBackThatWouldOverflowTheColdTierFailsNamingTheTableAndTheStoreReopensAtItsCheckpoint() {
        Workload w = new Workload(9, ROWS, 48, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        Path at = dir.resolve("full");
        StoreConfig.Builder cfg = StoreConfig.builder().seed(42).threads(2).jmx(false).headroom(1.0);
        for (TableSpec spec : specs()) {
            cfg.table(spec, spec.name().equals("t1") ? 200 : spec.rows()); // t1 holds 200 of its 700 rows
        }
        Store store = Store.create(at, cfg.build());
        SlotPool pool = new SlotPool(device(), specs().get(0).layout(), 64 * 1024);
        Rig rig = new Rig(store, pool, TieredStore.open(store, pool, config(w, 4, 1)));
        float[][][] atCheckpoint;
        try {
            rig.run(w, 0, 1, 1, ref, step -> { });
            rig.tiered.checkpoint(1, new long[0], Map.of());
            atCheckpoint = rig.allRows();
            RuntimeException e = assertThrows(RuntimeException.class, () -> {
                rig.run(w, 1, 200, 1, null, step -> { });
                rig.tiered.checkpoint(200, new long[0], Map.of()); // waits for every write-back
            });
            Throwable c = e;
            while (!(c instanceof CapacityExceededException) && c.getCause() != null) {
                c = c.getCause();
            }
            assertTrue(c instanceof CapacityExceededException && c.getMessage().contains("table t1"),
                    "the failure names the full table: " + e);
            assertTrue(store.table("t1").rowsStored() <= 200, "t1 holds at most its capacity");
        } finally {
            try {
                rig.tiered.close();
            } catch (RuntimeException afterFailure) {
                // closing waits for the write-backs under way: the same failure may come again
            }
            pool.close();
            store.close();
        }
        Store reopened = Store.open(at, StoreConfig.builder().jmx(false).build());
        SlotPool again = new SlotPool(device(), specs().get(0).layout(), 64 * 1024);
        try (Rig back = new Rig(reopened, again, TieredStore.open(reopened, again, config(w, 4, 1)))) {
            float[][][] rows = back.allRows();
            for (int t = 0; t < ROWS.length; t++) {
                for (int i = 0; i < ROWS[t]; i++) {
                    assertArrayEquals(atCheckpoint[t][i], rows[t][i], "after reopening: table " + t + " row " + i);
                }
            }
        }
    }

    @Test
    void lookaheadGivesTheSameRowsAsDepthZeroWithRetieringEveryStep() {
        Workload w = new Workload(11, ROWS, 48, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        TieredConfig c = config(w, 1, 0).withChunks(32, 1);
        float[][][] depth0;
        try (Rig rig = new Rig(dir.resolve("d0"), c, true)) {
            rig.run(w, 0, 40, 0, ref, step -> { });
            depth0 = rig.allRows();
        }
        assertRowsEqual(ref, depth0);
        try (Rig rig = new Rig(dir.resolve("d3"), c.withPrefetchThreads(2), true)) {
            rig.run(w, 0, 40, 3, null, step -> { });
            assertTrue(rig.tiered.hotSets().deferredMoves() > 0, "lookahead pinned rows that moves had to wait for");
            float[][][] depth3 = rig.allRows();
            for (int t = 0; t < ROWS.length; t++) {
                for (int i = 0; i < ROWS[t]; i++) {
                    assertArrayEquals(depth0[t][i], depth3[t][i], "table " + t + " row " + i);
                }
            }
        }
    }

    @Test
    void writeBacksLaggingBehindTheStepsGiveTheReferenceRows() {
        Workload w = new Workload(17, ROWS, 64, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        // Each applied batch's cold-tier writes start 5 ms late: never done at the next boundary, so
        // later batches and moves must take those rows from the batch still writing them.
        java.util.concurrent.ExecutorService lagging = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0,
                java.util.concurrent.TimeUnit.MILLISECONDS, new java.util.concurrent.LinkedBlockingQueue<>()) {
            @Override
            protected void beforeExecute(Thread t, Runnable r) {
                java.util.concurrent.locks.LockSupport.parkNanos(5_000_000L);
            }
        };
        try {
            Store store = Store.create(dir.resolve("lag"), StoreConfig.builder().tables(specs()).seed(42).threads(2).jmx(false).build());
            SlotPool pool = new SlotPool(device(), specs().get(0).layout(), 64 * 1024);
            TieredStore tiered = TieredStore.open(store, pool, config(w, 1, 0).withChunks(32, 2), lagging);
            try (Rig rig = new Rig(store, pool, tiered)) {
                rig.run(w, 0, 40, 2, ref, step -> { });
                assertRowsEqual(ref, rig.allRows());
                if (!eventsAnswerLate()) {
                    assertTrue(rig.tiered.rowsPromotedFromWriteBacks() > 0,
                            "some rows were promoted from a batch still writing them back: " + rig.tiered.moveWaits());
                }
            }
        } finally {
            lagging.shutdownNow();
        }
    }

    /**
     * A move's promotions are read behind the steps and published a boundary later; a row a batch
     * applied meanwhile wrote back takes its newest bytes from that batch: its write still under
     * way (writes 5 ms late), or landed (writes done inside apply: the batch keeps its bytes until
     * it is submitted again, after the boundary), so nothing is read again from the cold tier.
     * Both give the reference rows and, since which rows move where depends
     * only on the calls when every boundary waits for the moves' cold-tier work
     * ({@code -Dember.move.waitAtBoundary=true}, set here), the same hot sets.
     */
    @Test
    void promotionsTakeTheNewestBytesWhetherTheWritesSinceTheirReadLandedOrNot() {
        Workload w = new Workload(23, ROWS, 64, DIM);
        TieredConfig c = config(w, 3, 1).withChunks(24, 1);
        java.util.concurrent.ExecutorService atOnce = writesAtOnce();
        java.util.concurrent.ExecutorService late = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0,
                java.util.concurrent.TimeUnit.MILLISECONDS, new java.util.concurrent.LinkedBlockingQueue<>()) {
            @Override
            protected void beforeExecute(Thread t, Runnable r) {
                java.util.concurrent.locks.LockSupport.parkNanos(5_000_000L);
            }
        };
        HotSet[] hot = new HotSet[2];
        try (SystemProperty wait = SystemProperty.set(TieredStore.WAIT_AT_BOUNDARY_PROPERTY, "true")) {
            java.util.concurrent.ExecutorService[] writers = {atOnce, late};
            for (int i = 0; i < 2; i++) {
                ReferenceRows ref = new ReferenceRows(specs(), 42);
                Store store = Store.create(dir.resolve("w" + i), StoreConfig.builder().tables(specs()).seed(42).threads(2).jmx(false).build());
                SlotPool pool = new SlotPool(device(), specs().get(0).layout(), 64 * 1024);
                try (Rig rig = new Rig(store, pool, TieredStore.open(store, pool, c, writers[i]))) {
                    rig.run(w, 0, 45, 0, ref, step -> { });
                    assertTrue(rig.tiered.rowsPromotedFromWriteBacks() > 0, i == 0
                            ? "promoted rows written since their read came from the batch that wrote them, its write landed"
                            : "promoted rows written since their read came from the batch still writing them");
                    assertEquals(0, rig.tiered.rowsRereadForPromotion(), "no promoted row was read again from the cold tier");
                    hot[i] = rig.tiered.hotSet();
                    assertRowsEqual(ref, rig.allRows());
                }
            }
        } finally {
            late.shutdownNow();
        }
        assertTrue(hot[0].sameRows(hot[1]), "the same hot set whatever the write-backs' timing");
        assertEquals(hot[0].generation(), hot[1].generation());
    }

    /**
     * The same writes done inside apply, with step boundaries that do not wait (the default) and a
     * chunk's cold-tier reads two steps late ({@link StepLaggedMoves}), so the one batch that wrote
     * a promoted row since its read has been submitted again before the chunk publishes: a step
     * boundary leaves such a row for a later chunk, never reads it again from the cold tier (the
     * write-behind's threads share its locks), while a checkpoint, which waits for the chunk
     * anyway, reads it again; every row still equals the reference.
     */
    @Test
    void boundariesLeavePromotedRowsWrittenSinceTheirReadForALaterChunkAndEveryValueStaysExact() {
        Workload w = new Workload(23, ROWS, 64, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        Store store = Store.create(dir.resolve("w"), StoreConfig.builder().tables(specs()).seed(42).threads(2).jmx(false).build());
        SlotPool pool = new SlotPool(device(), specs().get(0).layout(), 64 * 1024);
        StepLaggedMoves moves = new StepLaggedMoves();
        try (Rig rig = new Rig(store, pool, TieredStore.open(store, pool, config(w, 3, 1).withChunks(24, 1), writesAtOnce(), moves))) {
            try {
                rig.run(w, 0, 45, 0, ref, moves::at);
                assertTrue(rig.tiered.promotionsPutOffForRereads() > 0, "promoted rows written since their read were left for later");
                assertEquals(0, rig.tiered.phases().boundaryRereads.sum(), "no step boundary read the cold tier");
                assertTrue(rig.tiered.hotSet().totalHotRows() > 0, "rows moved");
                assertRowsEqual(ref, rig.allRows());
                long step = 45;
                for (int round = 0; round < 20 && rig.tiered.rowsRereadForPromotion() == 0; round++, step += 6) {
                    // The chunk the round's boundaries plan first (unless the device is behind, at
                    // its first) waits for the checkpoint, through steps that write its rows and
                    // submit the batch that wrote them again.
                    moves.lag(Long.MAX_VALUE);
                    rig.run(w, step, step + 6, 0, ref, moves::at);
                    moves.release();
                    rig.tiered.checkpoint(step + 6, new long[0], Map.of()); // publishes the chunk in transit
                }
                assertTrue(rig.tiered.rowsRereadForPromotion() > 0, "checkpoints read promoted rows written since their read again");
                assertRowsEqual(ref, rig.allRows());
            } finally {
                moves.release(); // closing publishes the chunk in transit
            }
        } finally {
            moves.shutdownNow();
        }
    }

    /** An executor that runs each task in the caller: a write-behind whose writes land inside apply. */
    private static java.util.concurrent.ExecutorService writesAtOnce() {
        return new java.util.concurrent.AbstractExecutorService() {
            private volatile boolean shut;

            @Override
            public void execute(Runnable r) {
                r.run();
            }

            @Override
            public void shutdown() {
                shut = true;
            }

            @Override
            public List<Runnable> shutdownNow() {
                shut = true;
                return List.of();
            }

            @Override
            public boolean isShutdown() {
                return shut;
            }

            @Override
            public boolean isTerminated() {
                return shut;
            }

            @Override
            public boolean awaitTermination(long timeout, java.util.concurrent.TimeUnit unit) {
                return true;
            }
        };
    }

    /**
     * A chunk's cold-tier work held back for real (the mover's one thread blocked before each of
     * its tasks while a gate is shut): the boundaries meanwhile return without waiting, leave the
     * chunk in transit and move nothing, and put off the knob's choice that would publish it;
     * once the work runs, a later boundary publishes the chunk and adopts the choice.
     * Rows used and updated meanwhile keep their values: every pooled bag and every row equals the
     * plain reference throughout. The batches' writes land inside apply, so a chunk's promotions
     * are read from the cold tier, never taken from a batch still writing them (a chunk that took
     * them all so reads nothing, and on a busy machine whose write-behind lagged, no chunk read
     * anything for eight boundaries).
     */
    @Test
    void boundariesLeaveAChunkWhoseColdWorkIsHeldBackForALaterOneAndEveryValueStaysExact() throws Exception {
        Workload w = new Workload(31, ROWS, 64, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        TieredConfig c = config(w, 10, 1).withChunks(24, 1);
        java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CountDownLatch> gate =
                new java.util.concurrent.atomic.AtomicReference<>(new java.util.concurrent.CountDownLatch(0));
        java.util.concurrent.atomic.AtomicInteger heldTasks = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ExecutorService moveThreads = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0,
                java.util.concurrent.TimeUnit.MILLISECONDS, new java.util.concurrent.LinkedBlockingQueue<>()) {
            @Override
            protected void beforeExecute(Thread t, Runnable r) {
                java.util.concurrent.CountDownLatch g = gate.get();
                if (g.getCount() > 0) {
                    heldTasks.incrementAndGet();
                }
                try {
                    g.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        java.util.concurrent.CountDownLatch shut = new java.util.concurrent.CountDownLatch(1);
        try {
            Store store = Store.create(dir.resolve("held"), StoreConfig.builder().tables(specs()).seed(42).threads(2).jmx(false).build());
            SlotPool pool = new SlotPool(device(), specs().get(0).layout(), 64 * 1024);
            try (Rig rig = new Rig(store, pool, TieredStore.open(store, pool, c, writesAtOnce(), moveThreads))) {
                // The gate opens before the rig closes (closing waits for the chunk's held work), also on a failure.
                try {
                    heldChunk(rig, w, ref, gate, heldTasks, shut);
                } finally {
                    shut.countDown();
                }
            }
        } finally {
            shut.countDown();
            moveThreads.shutdownNow();
        }
    }

    private void heldChunk(Rig rig, Workload w, ReferenceRows ref,
                           java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CountDownLatch> gate,
                           java.util.concurrent.atomic.AtomicInteger heldTasks, java.util.concurrent.CountDownLatch shut) {
        rig.run(w, 0, 12, 1, ref, step -> { });
        assertTrue(rig.tiered.lastChoice() != null, "the knob's first choice is moving in");
        gate.set(shut);
        long deferredBefore = rig.tiered.phases().deferredPublishes.sum();
        List<Long> generations = new ArrayList<>();
        List<Boolean> held = new ArrayList<>();
        List<String> moves = new ArrayList<>();
        rig.run(w, 12, 20, 1, ref, step -> {
            generations.add(rig.tiered.hotSet().generation());
            held.add(heldTasks.get() > 0);
            moves.add(movesSoFar(rig.tiered));
        });
        generations.add(rig.tiered.hotSet().generation());
        held.add(heldTasks.get() > 0);
        int firstHeld = held.indexOf(true);
        // The first chunk planned once the gate is shut is held (the device's copies may put a start
        // off a boundary or two); the knob's next choice (step 21) is checked apart, below.
        assertTrue(firstHeld >= 0 && firstHeld <= 7, "a chunk's cold-tier work was held back from step "
                + (12 + firstHeld) + ": " + held + "; generations " + generations + "; moves " + moves);
        for (int i = firstHeld; i < generations.size(); i++) {
            assertEquals(generations.get(firstHeld), generations.get(i),
                    "nothing moves while the chunk's cold-tier work is held back: " + generations);
        }
        long deferred = rig.tiered.phases().deferredPublishes.sum() - deferredBefore;
        assertTrue(deferred >= 20 - 12 - firstHeld, "boundaries left the chunk for later: " + deferred);
        assertTrue(rig.tiered.hotSets().pendingPromotions() + rig.tiered.hotSets().pendingDemotions() > 0,
                "moves wait");
        assertRowsEqual(ref, rig.allRows());
        // The knob's next choice (due at step 21) would publish the chunk in transit: it waits for
        // a boundary that finds the chunk's work done, and no boundary waits for that work.
        long heldGeneration = rig.tiered.hotSet().generation();
        dev.ember.cache.knob.KnobChoice before = rig.tiered.lastChoice();
        long retargetsPutOff = rig.tiered.phases().deferredRetargets.sum();
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60),
                () -> rig.run(w, 20, 25, 1, ref, step -> { }), "a boundary waited for the held chunk");
        assertSame(before, rig.tiered.lastChoice(), "the knob's choice is not adopted while the chunk's work is held");
        assertTrue(rig.tiered.phases().deferredRetargets.sum() > retargetsPutOff, "boundaries put the choice off");
        assertEquals(heldGeneration, rig.tiered.hotSet().generation(), "nothing moves while the chunk's work is held");
        assertRowsEqual(ref, rig.allRows());
        shut.countDown();
        rig.run(w, 25, 40, 1, ref, step -> { });
        assertTrue(rig.tiered.hotSet().generation() > heldGeneration, "the held chunk published later");
        assertNotSame(before, rig.tiered.lastChoice(), "the choice put off was adopted once the work was done");
        assertRowsEqual(ref, rig.allRows());
    }

    /** Where re-tiering stands, for a failure's message. */
    private static String movesSoFar(TieredStore t) {
        return "pending +" + t.hotSets().pendingPromotions() + "/-" + t.hotSets().pendingDemotions()
                + " dropped " + t.movesDropped() + " putOff " + t.promotionsPutOffForRereads()
                + " deviceBehind " + t.chunksPutOffForTheDevice() + " deferred " + t.phases().deferredPublishes.sum()
                + " fromWriteBacks " + t.rowsPromotedFromWriteBacks();
    }

    @Test
    void residentRowsMatchTheReferenceAndResumeFromACheckpoint() {
        Workload w = new Workload(13, ROWS, 32, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        TieredConfig c = config(w, 0, 0).withResident(true);
        Path s = dir.resolve("resident");
        try (Rig rig = new Rig(s, c, true)) {
            rig.run(w, 0, 15, 0, ref, step -> { });
            assertEquals(0, rig.tiered.rowsFetched(), "resident rows never come from the cold tier");
            rig.tiered.checkpoint(15, new long[0], Map.of());
            rig.run(w, 15, 18, 0, null, step -> { }); // after the checkpoint: rolled back at reopen
        }
        try (Rig rig = new Rig(s, c, false)) {
            assertRowsEqual(ref, rig.allRows());
            rig.run(w, 15, 25, 0, ref, step -> { });
            assertRowsEqual(ref, rig.allRows());
        }
    }

    /**
     * Checkpoints dump the dirty hot rows and leave them dirty: training goes on after each
     * checkpoint while the knob re-tiers every other step (dumped rows are demoted and must be
     * written back), and every reopen resumes from the dump (updates past the last checkpoint
     * rolled back); every pooled bag and every row matches the reference throughout.
     */
    @Test
    void checkpointsDumpDirtyRowsThatStayDirtyAndEveryReopenResumesExactly() throws Exception {
        Workload w = new Workload(17, ROWS, 48, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        TieredConfig c = config(w, 2, 0).withChunks(32, 1);
        Path s = dir.resolve("dumps");
        long step = 0;
        for (int round = 0; round < 3; round++) {
            try (Rig rig = new Rig(s, c, round == 0)) {
                assertRowsEqual(ref, rig.allRows());
                rig.run(w, step, step + 6, 0, ref, x -> { });
                rig.tiered.checkpoint(step + 6, new long[0], Map.of());
                assertTrue(rig.tiered.lastDumpRows() > 0, "dirty hot rows were dumped");
                assertTrue(java.nio.file.Files.exists(s.resolve(dev.ember.cache.durability.HotDump.fileName(
                        rig.store.lastCheckpoint().epoch()))), "the dump sits beside the store");
                long demotedBefore = rig.tiered.hotSets().demotedRows();
                rig.run(w, step + 6, step + 12, 0, ref, x -> { });
                assertTrue(rig.tiered.hotSets().demotedRows() > demotedBefore, "rows were demoted after the dump");
                rig.tiered.checkpoint(step + 12, new long[0], Map.of());
                assertRowsEqual(ref, rig.allRows());
                rig.run(w, step + 12, step + 15, 0, null, x -> { }); // past the checkpoint: rolled back
                step += 12;
            }
        }
    }

    @Test
    void checkpointCloseReopenRestoresHotSetCountersKnobAndEveryValue() {
        Workload w = new Workload(5, ROWS, 32, DIM);
        TieredConfig c = config(w, 5, 2);
        Path s = dir.resolve("ck");
        float[][][] rows;
        HotSet hot;
        byte[] popularity;
        byte[] knob;
        long[] hits = new long[ROWS.length];
        long[] misses = new long[ROWS.length];
        try (Rig rig = new Rig(s, c, true)) {
            rig.run(w, 0, 23, 1, null, step -> { });
            rig.tiered.checkpoint(23, new long[] {9}, Map.of("caller", new byte[] {1, 2, 3}));
            rows = rig.allRows();
            hot = rig.tiered.hotSet();
            knob = rig.tiered.knob().toBytes();
            popularity = rig.tiered.popularity().toBytes();
            for (int t = 0; t < ROWS.length; t++) {
                hits[t] = rig.tiered.counters(t).hotHits();
                misses[t] = rig.tiered.counters(t).coldMisses();
            }
            assertTrue(hot.totalHotRows() > 0, "the knob chose hot rows before the checkpoint");
            // Updates after the checkpoint are not kept.
            rig.run(w, 23, 27, 0, null, step -> { });
        }
        try (Rig rig = new Rig(s, c, false)) {
            assertEquals(23, rig.store.lastCheckpoint().step());
            assertArrayEquals(new byte[] {1, 2, 3}, rig.store.lastCheckpoint().blobs().get("caller"));
            assertEquals(hot.generation(), rig.tiered.hotSet().generation());
            assertTrue(hot.sameRows(rig.tiered.hotSet()), "hot set restored");
            for (int t = 0; t < ROWS.length; t++) {
                assertEquals(hot.hotRows(t), rig.pool.rowCount(t), "hot rows of table " + t + " back in the hot tier");
                assertEquals(hits[t], rig.tiered.counters(t).hotHits());
                assertEquals(misses[t], rig.tiered.counters(t).coldMisses());
            }
            assertArrayEquals(popularity, rig.tiered.popularity().toBytes(), "popularity counters restored");
            assertArrayEquals(knob, rig.tiered.knob().toBytes(), "knob restored");
            float[][][] back = rig.allRows();
            for (int t = 0; t < ROWS.length; t++) {
                for (int i = 0; i < ROWS[t]; i++) {
                    assertArrayEquals(rows[t][i], back[t][i], "table " + t + " row " + i);
                }
            }
        }
    }
}
