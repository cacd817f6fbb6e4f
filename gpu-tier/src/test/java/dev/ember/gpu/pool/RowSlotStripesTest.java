package dev.ember.gpu.pool;

import dev.ember.gpu.device.UnsafeMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static dev.ember.gpu.device.UnsafeMemory.UNSAFE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Striped row-to-slot indexes, hashed and direct, run by map threads against a HashMap, on random
 * batches with failures in them.
 */
class RowSlotStripesTest {

    /** Hashed stripes (room 2 at 4 threads, else 4) or direct ones over a table of {@code rows} rows. */
    private static RowSlotStripes stripes(boolean direct, int threads, long rows) {
        return direct ? RowSlotStripes.direct(threads, rows) : new RowSlotStripes(threads, 16, threads == 4 ? 2 : RowSlotMap.ROOM);
    }

    @ParameterizedTest(name = "direct {0}, threads {1}")
    @CsvSource({"false, 1", "false, 2", "false, 4", "false, 8", "true, 1", "true, 2", "true, 4", "true, 8"})
    void batchesAgreeWithAHashMap(boolean direct, int threads) {
        Random rnd = new Random(17 + threads + (direct ? 100 : 0));
        long spacing = direct ? 13 : 1_000_003L; // hashed: rows use all 32 bits; direct: a 52,000-row table
        long tableRows = 4000 * spacing;
        Map<Long, Integer> ref = new HashMap<>();
        int max = 3000;
        long[] rows = new long[max];
        int[] slots = new int[max];
        byte[] bad = new byte[max];
        long stack = UnsafeMemory.allocate(4L * max, "test slots");
        try (MapThreads mt = new MapThreads(threads, 0, "test-map");
             RowSlotStripes map = stripes(direct, threads, tableRows)) {

            for (int round = 0; round < 60; round++) {
                int n = rnd.nextInt(max);
                int chunk = 1 + rnd.nextInt(700);
                for (int i = 0; i < n; i++) {
                    rows[i] = rnd.nextInt(4000) * spacing; // repeats within a batch on purpose
                }
                RowSlotStripes.Op op = RowSlotStripes.Op.values()[rnd.nextInt(3)];
                int fromStack = rnd.nextInt(n + 1);
                long firstBump = 100_000L * round;
                for (int i = 0; i < fromStack; i++) {
                    UNSAFE.putInt(stack + 4L * i, rnd.nextInt(1 << 20));
                }
                java.util.Arrays.fill(slots, -7);
                map.prepare(op, rows, slots, bad, n, chunk, stack, fromStack, firstBump);
                mt.start(map);
                boolean failed = mt.awaitFrom(0);
                // A row may appear more than once in a call: exactly one of its occurrences does the
                // PUT or REMOVE, the others fail. Which one: the first where one thread owns the row
                // (hashed stripes, or one thread); any where threads share a direct index's parts.
                boolean firstWins = !direct || threads == 1;
                Map<Long, Integer> first = new HashMap<>();
                Map<Long, Integer> winner = new HashMap<>();
                boolean refFailed = false;
                for (int i = 0; i < n; i++) {
                    long row = rows[i];
                    Integer had = ref.get(row);
                    boolean ok = bad[i] == 0;
                    first.putIfAbsent(row, i);
                    if (op == RowSlotStripes.Op.GET) {
                        assertEquals(had != null, ok, "GET of row " + row + " at " + i);
                        if (ok) {
                            assertEquals((int) had, slots[i], "slot of row " + row);
                        }
                    } else {
                        boolean canWin = op == RowSlotStripes.Op.PUT ? had == null : had != null;
                        assertTrue(canWin || !ok, op + " of row " + row + " at " + i + " should fail");
                        if (ok) {
                            assertEquals(null, winner.put(row, i), op + " of row " + row + " succeeded twice in one call");
                            if (firstWins) {
                                assertEquals(first.get(row), i, op + " of row " + row + ": the first occurrence wins");
                            }
                            if (op == RowSlotStripes.Op.REMOVE) {
                                assertEquals((int) had, slots[i], "slot of row " + row);
                            }
                        }
                    }
                    bad[i] = 0;
                    refFailed |= !ok;
                }
                for (Map.Entry<Long, Integer> e : first.entrySet()) {
                    Integer had = ref.get(e.getKey());
                    if (op != RowSlotStripes.Op.GET && (op == RowSlotStripes.Op.PUT) == (had == null)) {
                        assertTrue(winner.containsKey(e.getKey()), op + " of row " + e.getKey() + " never succeeded");
                    }
                }
                for (Map.Entry<Long, Integer> e : winner.entrySet()) {
                    int i = e.getValue();
                    if (op == RowSlotStripes.Op.PUT) {
                        ref.put(e.getKey(), i < fromStack ? UNSAFE.getInt(stack + 4L * i) : (int) (firstBump + i - fromStack));
                    } else {
                        ref.remove(e.getKey());
                    }
                }
                assertEquals(refFailed, failed);
                assertEquals(ref.size(), map.size());
            }
            Map<Long, Integer> seen = new HashMap<>();
            map.forEach(seen::put);
            assertEquals(ref, seen);
        } finally {
            UnsafeMemory.free(stack);
        }
    }

    /**
     * Calls that also copy rows: a PUT stages each chunk's rows from a buffer into two staging
     * areas in turn, a REMOVE drains them back into another buffer; the caller plays the pool's
     * part (opens each chunk in order, checks the staging of a PUT before the next chunk reuses it).
     */
    @ParameterizedTest(name = "direct {0}, threads {1}")
    @CsvSource({"false, 1", "false, 2", "false, 4", "true, 1", "true, 4"})
    void copiesAndDrainsMoveEveryByteThroughTheStaging(boolean direct, int threads) {
        Random rnd = new Random(5 + threads);
        int rowBytes = 12;
        int max = 5000;
        long[] rows = new long[max];
        int[] slots = new int[max];
        byte[] bad = new byte[max];
        long src = UnsafeMemory.allocate((long) max * rowBytes, "test source");
        long dst = UnsafeMemory.allocate((long) max * rowBytes, "test destination");
        long[] staging = new long[2];
        try (MapThreads mt = new MapThreads(threads, 0, "test-map");
             RowSlotStripes map = direct ? RowSlotStripes.direct(threads, 21 * 5_000L) : new RowSlotStripes(threads, 16)) {
            for (int round = 0; round < 20; round++) {
                int n = 1 + rnd.nextInt(max);
                int chunk = 150 + rnd.nextInt(900); // tens of chunks a call, as the pool makes
                for (int h = 0; h < 2; h++) {
                    staging[h] = UnsafeMemory.allocate((long) chunk * rowBytes, "test staging");
                }
                for (int i = 0; i < n; i++) {
                    rows[i] = round * (direct ? 5_000L : 10_000_000L) + i;
                }
                for (long b = 0; b < (long) n * rowBytes; b++) {
                    UNSAFE.putByte(src + b, (byte) rnd.nextInt());
                    UNSAFE.putByte(dst + b, (byte) 0);
                }
                map.prepare(RowSlotStripes.Op.PUT, rows, slots, bad, n, chunk, 0, 0, 0);
                map.copyRows(src, staging, rowBytes);
                mt.start(map);
                int chunks = map.chunks();
                for (int k = 0; k < chunks; k++) {
                    mt.copyChunk(k);
                    int from = k * chunk;
                    int bytes = Math.min(chunk, n - from) * rowBytes;
                    assertArrayEquals(bytes(src + (long) from * rowBytes, bytes), bytes(staging[k & 1], bytes), "staged chunk " + k);
                }
                assertEquals(false, mt.awaitFrom(0)); // as promote: the mapping is awaited at the end
                map.prepare(RowSlotStripes.Op.REMOVE, rows, slots, bad, n, chunk, 0, 0, 0);
                map.drainRows(staging, dst, rowBytes);
                mt.start(map);
                for (int k = 0; k < chunks; k++) {
                    int from = k * chunk;
                    UNSAFE.copyMemory(src + (long) from * rowBytes, staging[k & 1], (long) Math.min(chunk, n - from) * rowBytes);
                    mt.copyChunk(k);
                    assertEquals(false, mt.awaitChunk(k));
                }
                assertEquals(false, mt.awaitFrom(chunks));
                assertArrayEquals(bytes(src, n * rowBytes), bytes(dst, n * rowBytes), "drained rows");
                for (int i = 0; i < n; i++) {
                    assertEquals(i, slots[i], "slot of row " + i);
                }
                assertEquals(0, map.size());
                UnsafeMemory.free(staging[0]);
                UnsafeMemory.free(staging[1]);
            }
        } finally {
            UnsafeMemory.free(src);
            UnsafeMemory.free(dst);
        }
    }

    private static byte[] bytes(long address, int n) {
        byte[] b = new byte[n];
        UNSAFE.copyMemory(null, address, b, UNSAFE.arrayBaseOffset(byte[].class), n);
        return b;
    }
}
