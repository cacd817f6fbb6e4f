package dev.ember.gpu.pool;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RowSlotMapTest {

    @Test
    void behavesLikeAHashMapUnderRandomPutsAndRemovesWithGrowth() {
        Random rnd = new Random(9);
        Map<Long, Integer> ref = new HashMap<>();
        try (RowSlotMap map = new RowSlotMap(4)) {
            for (int op = 0; op < 200_000; op++) {
                long row = rnd.nextInt(5000) * 1_000_003L;
                int kind = rnd.nextInt(3);
                if (kind == 0) {
                    boolean added = map.putIfAbsent(row, op);
                    assertEquals(!ref.containsKey(row), added);
                    ref.putIfAbsent(row, op);
                } else if (kind == 1) {
                    Integer old = ref.remove(row);
                    assertEquals(old == null ? -1 : old, map.remove(row));
                } else {
                    Integer v = ref.get(row);
                    assertEquals(v == null ? -1 : v, map.get(row));
                }
                assertEquals(ref.size(), map.size());
            }
            Map<Long, Integer> seen = new HashMap<>();
            map.forEach(seen::put);
            assertEquals(ref, seen);
        }
    }
}
