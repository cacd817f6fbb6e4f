package dev.ember.gpu.pool;

import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.DeviceException;
import dev.ember.gpu.device.FaultyDevice;
import dev.ember.gpu.device.HostDevice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A device error inside a move leaves the slot pool as it was: every device operation of a
 * promote, demote or read (three chunks of rows) is made to fail in turn ({@link FaultyDevice#failsOnceAt});
 * afterwards the pool holds exactly the rows it held, with their bytes (read back through the
 * device, which still answers), and the same call then succeeds. What a trainer needs to save a
 * failed device's hot rows: before this, a failed demote lost the rows its map threads had
 * already unmapped, and a failed promote left rows mapped to slots still counted free.
 */
class SlotPoolDeviceFaultTest {
    private static final TableSpec SPEC = new TableSpec("t", 1_000_000, 64, Optimizer.ADAGRAD);
    private static final RowLayout LAYOUT = SPEC.layout();
    private static final int ROWS = 20_000; // 8192 rows of 512 bytes a chunk: three chunks

    private enum Call { PROMOTE, DEMOTE, READ }

    @ParameterizedTest(name = "{0} with {1} map threads")
    @CsvSource({"PROMOTE, 1", "PROMOTE, 4", "DEMOTE, 1", "DEMOTE, 4", "READ, 1", "READ, 4"})
    void everyFailedOperationOfAMoveLeavesThePoolUnchanged(Call call, int mapThreads) {
        SplittableRandom rnd = new SplittableRandom(8);
        long[] ids = rnd.longs(0, SPEC.rows()).distinct().limit(2L * ROWS).toArray();
        long[] held = java.util.Arrays.copyOf(ids, ROWS);
        long[] other = java.util.Arrays.copyOfRange(ids, ROWS, 2 * ROWS);
        ByteBuffer heldBytes = randomRows(rnd, ROWS);
        ByteBuffer otherBytes = randomRows(rnd, ROWS);

        AtomicLong ops = new AtomicLong();
        long[] span = new long[2];
        try (SlotPool pool = pool(FaultyDevice.failsOnceAt(new HostDevice(), Long.MAX_VALUE, ops), mapThreads)) {
            pool.promote(0, held, ROWS, heldBytes);
            span[0] = ops.get();
            run(call, pool, other, otherBytes, held);
            span[1] = ops.get();
        }
        assertTrue(span[1] - span[0] >= 6, call + " made " + (span[1] - span[0]) + " device operations");
        for (long failAt = span[0] + 1; failAt <= span[1]; failAt++) {
            AtomicLong n = new AtomicLong();
            try (SlotPool pool = pool(FaultyDevice.failsOnceAt(new HostDevice(), failAt, n), mapThreads)) {
                pool.promote(0, held, ROWS, heldBytes);
                DeviceException e = assertThrows(DeviceException.class, () -> run(call, pool, other, otherBytes, held),
                        call + " with operation " + failAt + " failing");
                assertTrue(e.getMessage().contains("injected fault"), e.getMessage());
                String where = call + ", operation " + failAt + " of " + span[0] + ".." + span[1] + " failed: ";
                assertEquals(ROWS, pool.used(), where + "slots used");
                assertEquals(ROWS, pool.rowCount(0), where + "rows held");
                assertTrue(LongStream.of(held).allMatch(r -> pool.contains(0, r)), where + "a held row left the pool");
                assertFalse(LongStream.of(other).anyMatch(r -> pool.contains(0, r)), where + "a row not promoted is held");
                assertRows(pool, held, heldBytes, where);
                // The device answers again: the same call now does what it should.
                run(call, pool, other, otherBytes, held);
                if (call == Call.PROMOTE) {
                    assertEquals(2 * ROWS, pool.used(), where + "after the retry");
                    assertRows(pool, other, otherBytes, where + "after the retry: ");
                } else if (call == Call.DEMOTE) {
                    assertEquals(ROWS / 2, pool.used(), where + "after the retry");
                }
            }
        }
        System.out.printf("%s with %d map threads: each of its %d device operations failed in turn; the pool was unchanged%n",
                call, mapThreads, span[1] - span[0]);
    }

    private static SlotPool pool(FaultyDevice device, int mapThreads) {
        SlotPool pool = new SlotPool(device, LAYOUT, 3L * ROWS * (LAYOUT.bytesPerRow() + 1L), mapThreads);
        pool.addTable(SPEC);
        return pool;
    }

    /** The call under test; a demote and a read check the bytes they return. */
    private static void run(Call call, SlotPool pool, long[] other, ByteBuffer otherBytes, long[] held) {
        switch (call) {
            case PROMOTE -> pool.promote(0, other, ROWS, otherBytes);
            case DEMOTE -> {
                ByteBuffer out = rows(ROWS / 2);
                boolean[] dirty = new boolean[ROWS / 2];
                pool.demote(0, held, ROWS / 2, out, dirty);
            }
            case READ -> pool.read(0, held, ROWS, rows(ROWS), new boolean[ROWS]);
            default -> throw new AssertionError(call);
        }
    }

    private static void assertRows(SlotPool pool, long[] ids, ByteBuffer want, String where) {
        ByteBuffer got = rows(ids.length);
        boolean[] dirty = new boolean[ids.length];
        pool.read(0, ids, ids.length, got, dirty);
        assertEquals(0, got.duplicate().clear().compareTo(want.duplicate().clear()), where + "row bytes differ");
        for (boolean d : dirty) {
            assertFalse(d, where + "a promoted row reads dirty");
        }
    }

    private static ByteBuffer randomRows(SplittableRandom rnd, int n) {
        ByteBuffer b = rows(n);
        for (int i = 0; i < n * LAYOUT.bytesPerRow() / 4; i++) {
            b.putFloat(4 * i, (float) rnd.nextDouble(-1, 1));
        }
        return b;
    }

    private static ByteBuffer rows(int n) {
        return ByteBuffer.allocateDirect(n * LAYOUT.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
    }
}
