package dev.ember.gpu.tiered;

import dev.ember.cache.knob.Budget;
import dev.ember.cache.knob.Hysteresis;
import dev.ember.cache.knob.KnobMode;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.tiered.StepBatch;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.HostDevice;
import dev.ember.gpu.pool.SlotPool;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A warm step through the tiered store (submit, gather with staged misses, apply with write-back,
 * step boundary) allocates no memory per row on the step thread, only a small constant per step
 * (under 1 KB measured): the thread's allocation counter says so. The knob is off here (its evaluations allocate, off the step path).
 */
class TieredAllocationTest {
    @TempDir
    Path dir;

    @Test
    void warmStepsAllocateNothingPerRow() {
        Workload w = new Workload(2, TieredStoreContract.ROWS, 128, TieredStoreContract.DIM);
        int rowBytes = TieredStoreContract.specs().get(0).layout().bytesPerRow();
        TieredConfig c = new TieredConfig(Budget.ofBytes(500L * rowBytes), KnobMode.CACHE, 0, 0, Hysteresis.ofMargin(0.1), 100, w.bags,
                w.maxIds(), 256, 2, 0, false, 1);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Store store = Store.create(dir, StoreConfig.builder().tables(TieredStoreContract.specs()).seed(1).jmx(false).build());
             HostDevice device = new HostDevice();
             SlotPool pool = new SlotPool(device, TieredStoreContract.specs().get(0).layout(), 1 << 16);
             TieredStore tiered = TieredStore.open(store, pool, c);
             StepBatch batch = tiered.newBatch()) {
            int tables = TieredStoreContract.ROWS.length;
            float[][] pooled = new float[tables][w.bags * TieredStoreContract.DIM];
            float[][] g = w.grads(0, tables);
            for (long step = 0; step < 8; step++) {
                for (int t = 0; t < tables; t++) {
                    w.fill(step, t, batch.ids(t));
                }
                tiered.submit(batch);
                tiered.gather(batch, pooled);
                tiered.apply(batch, g, 0.01f, 1e-8f);
                tiered.endStep(step + 1);
            }
            tiered.chooseAndSettle();
            long ids = 0;
            long allocated = 0;
            for (int round = 0; round < 3; round++) {
                for (long step = 0; step < 8; step++) {
                    for (int t = 0; t < tables; t++) {
                        w.fill(step, t, batch.ids(t)); // the same batches again: every row already counted
                        ids += batch.ids(t).idCount();
                    }
                    long before = threads.getCurrentThreadAllocatedBytes();
                    tiered.submit(batch);
                    tiered.gather(batch, pooled);
                    tiered.apply(batch, g, 0.01f, 1e-8f);
                    tiered.endStep(100 + round * 8 + step);
                    allocated += threads.getCurrentThreadAllocatedBytes() - before;
                }
            }
            double perId = (double) allocated / ids;
            double perStep = allocated / 24.0;
            System.out.printf("warm tiered steps: %d bytes over %d ids in 24 steps (%.3f per id, %.0f per step)%n",
                    allocated, ids, perId, perStep);
            // A small constant per step (worker-pool and device bookkeeping), never per row.
            assertTrue(perStep < 4096 && perId < 2, "allocated " + allocated + " bytes over " + ids + " ids in 24 steps");
        }
    }
}
