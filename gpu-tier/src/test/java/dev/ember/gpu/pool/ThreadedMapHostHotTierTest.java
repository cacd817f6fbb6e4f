package dev.ember.gpu.pool;

import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.HostDevice;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hot-tier contract on the Host backend with four map threads (the dev box and CI have two
 * cores, so the default there is the pool's thread alone): moves map rows on four stripes.
 */
class ThreadedMapHostHotTierTest extends HotTierContract {
    @Override
    protected Device openDevice() {
        return new HostDevice();
    }

    @Override
    protected SlotPool newPool(Device device, RowLayout layout, long budgetBytes) {
        return new SlotPool(device, layout, budgetBytes, 4);
    }

    /** Back-to-back moves, empty ones among them, never let a thread run a call twice or a stale one. */
    @Test
    void manySmallAndEmptyMovesInARow() {
        RowLayout layout = RowLayout.of(4, Optimizer.SGD);
        try (Device device = new HostDevice();
             SlotPool pool = newPool(device, layout, 64 * (layout.bytesPerRow() + 1L))) {
            int table = pool.addTable(new TableSpec("t", 1000, 4, Optimizer.SGD));
            ByteBuffer rows = pool.newRowBuffer(8);
            long[] ids = new long[8];
            for (int round = 0; round < 100; round++) {
                int n = round % 9 == 0 ? 0 : 1 + round % 8;
                for (int i = 0; i < n; i++) {
                    ids[i] = (round * 13L + i * 7L) % 1000;
                }
                pool.promote(table, ids, n, rows);
                pool.promote(table, ids, 0, rows);
                assertEquals(n, pool.used());
                pool.read(table, ids, n, rows, null);
                assertEquals(0, pool.demote(table, ids, n, rows, null));
                pool.demote(table, ids, 0, rows, null);
                assertEquals(0, pool.used());
            }
            assertTrue(pool.rowsPromoted() > 0);
        }
    }
}
