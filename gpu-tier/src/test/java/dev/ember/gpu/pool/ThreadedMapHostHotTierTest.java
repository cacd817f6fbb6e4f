package dev.ember.gpu.pool;

import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.HostDevice;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hot-tier contract on the Host backend with four map threads (the dev box and CI have two
 * cores, so the default there is the pool's thread alone) woken for every move, however small:
 * moves map rows on four stripes of a direct row-to-slot index (every table; the contract's
 * pools are mostly too small for {@link RowSlotIndex#AUTO} to pick it). Also: below the row
 * threshold a move wakes no thread. {@link HashedMapHostHotTierTest}: the same with hashed maps.
 */
class ThreadedMapHostHotTierTest extends HotTierContract {
    @Override
    protected Device openDevice() {
        return new HostDevice();
    }

    @Override
    protected SlotPool newPool(Device device, RowLayout layout, long budgetBytes) {
        return new SlotPool(device, layout, budgetBytes, 4, 0, RowSlotIndex.DIRECT);
    }

    /**
     * Moves below {@code mapThreadsMinRows} run on the caller alone: the threads run no call (so
     * they stay parked), and the rows still arrive; a move at the threshold is handed to all four.
     */
    @Test
    void smallMovesWakeNoThread() {
        RowLayout layout = RowLayout.of(4, Optimizer.ROWWISE_ADAGRAD);
        int big = 4096;
        Random rnd = new Random(31);
        try (Device device = new HostDevice();
             SlotPool pool = new SlotPool(device, layout, 3L * big * (layout.bytesPerRow() + 1L), 4, big)) {
            int table = pool.addTable(new TableSpec("t", 1_000_000, 4, Optimizer.ROWWISE_ADAGRAD));
            ByteBuffer src = pool.newRowBuffer(big);
            ByteBuffer back = ByteBuffer.allocateDirect(big * layout.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            for (int round = 0; round < 40; round++) {
                int n = round == 39 ? big - 1 : 1 + rnd.nextInt(200);
                long[] ids = distinctIds(rnd, n);
                moveAndCheck(pool, table, ids, n, src, back, rnd, layout);
            }
            assertEquals(0, pool.movesOnMapThreads(), "moves below the threshold handed to the map threads");
            assertEquals(0, pool.mapThreadRuns(), "calls the map threads ran for moves below the threshold");

            long[] ids = distinctIds(rnd, big);
            moveAndCheck(pool, table, ids, big, src, back, rnd, layout);
            // promote, read and demote: three calls, each run by every one of the four threads
            assertEquals(3, pool.movesOnMapThreads());
            assertEquals(12, pool.mapThreadRuns());
        }
    }

    private static long[] distinctIds(Random rnd, int n) {
        return rnd.longs(0, 1_000_000).distinct().limit(n).toArray();
    }

    /** Promotes random rows, reads them back and demotes them, checking the bytes both times. */
    private static void moveAndCheck(SlotPool pool, int table, long[] ids, int n, ByteBuffer src, ByteBuffer back,
                                     Random rnd, RowLayout layout) {
        int bytes = n * layout.bytesPerRow();
        for (int i = 0; i < bytes; i += 4) {
            src.putFloat(i, rnd.nextFloat());
        }
        pool.promote(table, ids, n, src);
        assertEquals(n, pool.rowCount(table));
        pool.read(table, ids, n, back, null);
        assertEquals(src.slice(0, bytes), back.slice(0, bytes), "rows read back after promoting " + n);
        back.clear();
        for (int i = 0; i < bytes; i++) {
            back.put(i, (byte) 0);
        }
        assertEquals(0, pool.demote(table, ids, n, back, null));
        assertEquals(src.slice(0, bytes), back.slice(0, bytes), "rows demoted after promoting " + n);
        assertEquals(0, pool.rowCount(table));
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
