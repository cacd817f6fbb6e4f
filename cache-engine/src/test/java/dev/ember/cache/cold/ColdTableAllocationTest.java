package dev.ember.cache.cold;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Gather and apply allocate nothing per row once warm (the thread's allocation counter says so). */
class ColdTableAllocationTest {
    @TempDir
    Path dir;

    @Test
    void gatherAndApplyDoNotAllocatePerRow() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        TableSpec spec = new TableSpec("t", 100_000, 16, Optimizer.ROWWISE_ADAGRAD);
        try (Store store = Store.create(dir, StoreConfig.builder().table(spec).jmx(false).build())) {
            ColdTable t = store.table("t");
            SplittableRandom rnd = new SplittableRandom(3);
            PooledBatch batch = new PooledBatch(2048, 2048);
            DedupedIds d = new DedupedIds();
            ByteBuffer out = ByteBuffer.allocateDirect(2048 * t.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer grads = ByteBuffer.allocateDirect(2048 * 16 * 4).order(ByteOrder.LITTLE_ENDIAN);
            long[] ids = new long[2048];
            long rows = 0;
            long allocated = 0;
            for (int round = 0; round < 60; round++) {
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = rnd.nextLong(spec.rows());
                }
                batch.setOneHot(ids, ids.length);
                long before = threads.getCurrentThreadAllocatedBytes();
                d.build(batch);
                t.gather(d, out);
                t.apply(d, grads, 0.01f, 1e-8f);
                long used = threads.getCurrentThreadAllocatedBytes() - before;
                if (round >= 40) {
                    allocated += used;
                    rows += 2L * d.uniqueCount();
                }
            }
            // Allowed: a few bytes per batch (a buffer view in the undo log's append) and the logged-rows
            // bitmap's occasional container growth. A wrapper per row would cost 100+ bytes per row.
            double perRow = (double) allocated / rows;
            assertTrue(perRow < 1, "allocated " + allocated + " bytes over " + rows + " row operations (" + perRow + " per row)");
        }
    }
}
