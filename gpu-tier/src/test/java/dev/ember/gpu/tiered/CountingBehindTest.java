package dev.ember.gpu.tiered;

import dev.ember.cache.durability.Manifest;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.tiered.StepBatch;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.HostDevice;
import dev.ember.gpu.pool.SlotPool;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tiered store counting popularity behind the steps (the default) against one counting on the
 * step thread ({@code -Dember.count.behind=false}), on the same batches, three ahead: the hot set
 * after every step (so every knob choice), the counters and hot sets of every checkpoint, the
 * final counters and every row are equal bit for bit, with the knob evaluating behind the steps
 * (lag 1) and on the step thread (lag 0). Every boundary waits for the moves' cold-tier work
 * ({@code -Dember.move.waitAtBoundary=true}), so which rows move at which boundary depends only on
 * the calls and the hot sets can be compared step by step.
 */
class CountingBehindTest {
    private static final String PROPERTY = "ember.count.behind";
    private static final int STEPS = 45;

    @TempDir
    Path dir;

    /** What one run leaves to compare. */
    private record Run(List<HotSet> hotSets, List<byte[]> checkpointBlobs, byte[] counters, float[][][] rows, String waits) {
    }

    @Test
    void countingBehindTheStepsChangesNoCountNoChoiceAndNoRow() {
        for (int lag = 0; lag <= 1; lag++) {
            Workload w = new Workload(29 + lag, TieredStoreContract.ROWS, 64, TieredStoreContract.DIM);
            TieredConfig c = TieredStoreContract.config(w, 3, lag).withChunks(32, 1).withPrefetchThreads(2);
            Run atApply = run(w, c, dir.resolve("sync" + lag), false);
            Run behind = run(w, c, dir.resolve("behind" + lag), true);
            assertTrue(atApply.waits.contains("popularity counted on the step thread"), atApply.waits);
            assertTrue(behind.waits.contains("popularity counted behind the steps (" + STEPS + " batches"), behind.waits);
            assertTrue(behind.hotSets.get(STEPS - 1).generation() > 3, "the knob re-tiered: " + behind.hotSets.get(STEPS - 1));
            for (int s = 0; s < STEPS; s++) {
                HotSet a = atApply.hotSets.get(s);
                HotSet b = behind.hotSets.get(s);
                assertEquals(a.generation(), b.generation(), "hot-set generation after step " + (s + 1) + ", lag " + lag);
                assertTrue(a.sameRows(b), "hot rows after step " + (s + 1) + ", lag " + lag);
            }
            assertEquals(atApply.checkpointBlobs.size(), behind.checkpointBlobs.size());
            for (int i = 0; i < atApply.checkpointBlobs.size(); i++) {
                assertArrayEquals(atApply.checkpointBlobs.get(i), behind.checkpointBlobs.get(i),
                        "checkpoint blob " + i + " (counters, hot sets), lag " + lag);
            }
            assertArrayEquals(atApply.counters, behind.counters, "counters at the end, lag " + lag);
            for (int t = 0; t < atApply.rows.length; t++) {
                for (int i = 0; i < atApply.rows[t].length; i++) {
                    assertArrayEquals(atApply.rows[t][i], behind.rows[t][i], "table " + t + " row " + i + ", lag " + lag);
                }
            }
        }
    }

    private static Run run(Workload w, TieredConfig config, Path storeDir, boolean behind) {
        int tables = TieredStoreContract.ROWS.length;
        int depth = 3;
        List<HotSet> hotSets = new ArrayList<>();
        List<byte[]> blobs = new ArrayList<>();
        try (SystemProperty counting = SystemProperty.set(PROPERTY, Boolean.toString(behind));
             SystemProperty wait = SystemProperty.set(TieredStore.WAIT_AT_BOUNDARY_PROPERTY, "true");
             Store store = Store.create(storeDir, StoreConfig.builder().tables(TieredStoreContract.specs()).seed(42)
                .threads(2).jmx(false).build());
             HostDevice device = new HostDevice();
             SlotPool pool = new SlotPool(device, TieredStoreContract.specs().get(0).layout(), 64 * 1024);
             TieredStore tiered = TieredStore.open(store, pool, config)) {
            ArrayDeque<StepBatch> free = new ArrayDeque<>();
            ArrayDeque<StepBatch> queued = new ArrayDeque<>();
            List<StepBatch> all = new ArrayList<>();
            for (int i = 0; i <= depth; i++) {
                StepBatch b = tiered.newBatch();
                free.add(b);
                all.add(b);
            }
            try {
                long next = 0;
                for (long step = 0; step < STEPS; step++) {
                    while (next < STEPS && next <= step + depth) {
                        StepBatch b = free.removeFirst();
                        for (int t = 0; t < tables; t++) {
                            w.fill(next, t, b.ids(t));
                        }
                        tiered.submit(b);
                        queued.addLast(b);
                        next++;
                    }
                    StepBatch b = queued.removeFirst();
                    tiered.gather(b, null);
                    tiered.apply(b, w.grads(step, tables), TieredStoreContract.LR, TieredStoreContract.EPS);
                    free.addLast(b);
                    tiered.endStep(step + 1);
                    hotSets.add(tiered.hotSet());
                    if (step % 10 == 6) {
                        Manifest m = tiered.checkpoint(step + 1, new long[0], Map.of());
                        blobs.add(tiered.store().readSide(TieredStore.COUNTERS_SIDE,
                                in -> DecayingCounters.readFrom(in, tiered.tables())).toBytes());
                        blobs.add(m.blobs().get(TieredStore.HOT_SETS_BLOB));
                    }
                }
            } finally {
                all.forEach(StepBatch::close);
            }
            tiered.knob().toBytes(); // completes the evaluation under way and thaws the counters
            byte[] counters = tiered.popularity().toBytes();
            return new Run(hotSets, blobs, counters, allRows(tiered), tiered.moveWaits());
        }
    }

    /** Every row of every table as the tiered store serves it. */
    private static float[][][] allRows(TieredStore tiered) {
        {
            int rowFloats = TieredStoreContract.specs().get(0).layout().floatsPerRow();
            long[] sizes = TieredStoreContract.ROWS;
            float[][][] out = new float[sizes.length][][];
            for (int t = 0; t < sizes.length; t++) {
                int n = (int) sizes[t];
                long[] ids = new long[n];
                for (int i = 0; i < n; i++) {
                    ids[i] = i;
                }
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocateDirect(n * rowFloats * 4)
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                tiered.read(t, ids, n, buf);
                out[t] = new float[n][rowFloats];
                for (int i = 0; i < n; i++) {
                    for (int k = 0; k < rowFloats; k++) {
                        out[t][i][k] = buf.getFloat((i * rowFloats + k) * 4);
                    }
                }
            }
            return out;
        }
    }
}
