package dev.ember.gpu.pool;

import dev.ember.gpu.device.UnsafeMemory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static dev.ember.gpu.device.UnsafeMemory.UNSAFE;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Striped maps run by map threads against a HashMap, on random batches with failures in them. */
class RowSlotStripesTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void batchesAgreeWithAHashMap(int threads) {
        Random rnd = new Random(17 + threads);
        Map<Long, Integer> ref = new HashMap<>();
        int max = 3000;
        long[] rows = new long[max];
        int[] slots = new int[max];
        byte[] bad = new byte[max];
        long stack = UnsafeMemory.allocate(4L * max, "test slots");
        try (MapThreads mt = new MapThreads(threads, 0, "test-map");
             RowSlotStripes map = new RowSlotStripes(threads, 16)) {
            for (int round = 0; round < 60; round++) {
                int n = rnd.nextInt(max);
                int chunk = 1 + rnd.nextInt(700);
                for (int i = 0; i < n; i++) {
                    rows[i] = rnd.nextInt(4000) * 1_000_003L; // repeats within a batch on purpose
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
                boolean refFailed = false;
                for (int i = 0; i < n; i++) {
                    Integer had = ref.get(rows[i]);
                    boolean expectBad;
                    if (op == RowSlotStripes.Op.PUT) {
                        int slot = i < fromStack ? UNSAFE.getInt(stack + 4L * i) : (int) (firstBump + i - fromStack);
                        expectBad = had != null;
                        if (!expectBad) {
                            ref.put(rows[i], slot);
                        }
                    } else {
                        expectBad = had == null;
                        if (!expectBad) {
                            assertEquals((int) had, slots[i], "slot of row " + rows[i]);
                            if (op == RowSlotStripes.Op.REMOVE) {
                                ref.remove(rows[i]);
                            }
                        }
                    }
                    assertEquals(expectBad ? 1 : 0, bad[i], op + " of row " + rows[i] + " at " + i);
                    bad[i] = 0;
                    refFailed |= expectBad;
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
}
