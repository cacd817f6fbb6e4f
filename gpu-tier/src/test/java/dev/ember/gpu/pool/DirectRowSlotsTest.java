package dev.ember.gpu.pool;

import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.HostDevice;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The direct row-to-slot index against a HashMap, its stripes' ownership of blocks, and which index a pool picks. */
class DirectRowSlotsTest {

    /** Random puts, removals, replacements and lookups through the stripe that owns each row. */
    @Test
    void behavesLikeAHashMapThroughItsStripes() {
        Random rnd = new Random(23);
        long rows = 10_007; // not a whole number of blocks: the last block is short
        Map<Long, Integer> ref = new HashMap<>();
        try (RowSlotStripes index = RowSlotStripes.direct(4, rows)) {
            assertTrue(index.direct());
            for (int op = 0; op < 100_000; op++) {
                long row = rnd.nextInt((int) rows);
                int slot = rnd.nextInt(1 << 24);
                switch (rnd.nextInt(4)) {
                    case 0:
                        assertEquals(!ref.containsKey(row), index.putIfAbsent(row, slot), "put " + row);
                        ref.putIfAbsent(row, slot);
                        break;
                    case 1:
                        Integer had = ref.remove(row);
                        assertEquals(had == null ? -1 : had, index.remove(row), "remove " + row);
                        break;
                    case 2:
                        if (ref.containsKey(row)) {
                            index.replace(row, slot);
                            ref.put(row, slot);
                        } else {
                            assertThrows(IllegalStateException.class, () -> index.replace(row, slot));
                        }
                        break;
                    default:
                        assertEquals(ref.getOrDefault(row, -1), index.get(row), "get " + row);
                }
            }
            assertEquals(ref.size(), index.size());
            Map<Long, Integer> seen = new HashMap<>();
            index.forEach((row, slot) -> assertEquals(null, seen.put(row, slot), "row " + row + " visited twice"));
            assertEquals(ref, seen);
        }
    }

    /** Each stripe owns whole 16-row blocks, one block in S, and visits only its own rows. */
    @Test
    void aStripeOwnsWholeBlocksAndVisitsOnlyThem() {
        int stripes = 8;
        long rows = 1000;
        long array = dev.ember.gpu.device.UnsafeMemory.allocate(4 * rows, "test index");
        try {
            dev.ember.gpu.device.UnsafeMemory.UNSAFE.setMemory(array, 4 * rows, (byte) 0xFF);
            DirectRowSlots[] s = new DirectRowSlots[stripes];
            for (int w = 0; w < stripes; w++) {
                s[w] = new DirectRowSlots(array, rows, w, stripes);
            }
            for (long row = 0; row < rows; row++) {
                int w = DirectRowSlots.stripeOf(row, stripes);
                assertEquals((row / 16) % stripes, w, "stripe of row " + row);
                assertTrue(s[w].putIfAbsent(row, (int) row + 1));
            }
            Set<Long> all = new HashSet<>();
            for (int w = 0; w < stripes; w++) {
                final int owner = w;
                s[w].forEach((row, slot) -> {
                    assertEquals(owner, DirectRowSlots.stripeOf(row, stripes), "row " + row + " visited by stripe " + owner);
                    assertEquals(row + 1, slot);
                    assertTrue(all.add(row));
                });
                long own = 0;
                for (long row = 0; row < rows; row++) {
                    own += (row / 16) % stripes == w ? 1 : 0;
                }
                assertEquals(own, s[w].size(), "rows of stripe " + w);
            }
            assertEquals(rows, all.size());
        } finally {
            dev.ember.gpu.device.UnsafeMemory.free(array);
        }
    }

    /** Rows outside the table read as unmapped and cannot be put; negative slots are refused. */
    @Test
    void rowsOutsideTheTableAreAbsentAndRefused() {
        try (RowSlotStripes index = RowSlotStripes.direct(2, 100)) {
            assertEquals(-1, index.get(100));
            assertEquals(-1, index.get(-1));
            assertEquals(-1, index.remove(100));
            assertThrows(IllegalArgumentException.class, () -> index.putIfAbsent(100, 1));
            assertThrows(IllegalArgumentException.class, () -> index.putIfAbsent(-1, 1));
            assertThrows(IllegalArgumentException.class, () -> index.putIfAbsent(5, -1));
            assertTrue(index.putIfAbsent(99, 0));
            assertFalse(index.putIfAbsent(99, 1));
            assertEquals(0, index.get(99));
        }
    }

    /**
     * Auto gives a table a direct index while it has at most 8 rows a pool slot, else a hashed
     * map; direct and hashed are given whatever the size; resident tables have none.
     */
    @Test
    void thePoolPicksTheIndexByTheTablesRowsAgainstItsSlots() {
        RowLayout layout = RowLayout.of(4, Optimizer.SGD);
        long slots = 1000;
        long budget = slots * (layout.bytesPerRow() + 1L);
        try (HostDevice device = new HostDevice()) {
            try (SlotPool pool = new SlotPool(device, layout, budget, 1, 0, RowSlotIndex.AUTO)) {
                long capacity = pool.capacity();
                int atLimit = pool.addTable(new TableSpec("at", RowSlotIndex.DIRECT_ROWS_PER_SLOT * capacity, 4, Optimizer.SGD));
                int past = pool.addTable(new TableSpec("past", RowSlotIndex.DIRECT_ROWS_PER_SLOT * capacity + 1, 4, Optimizer.SGD));
                assertTrue(pool.directIndex(atLimit));
                assertFalse(pool.directIndex(past));
            }
            try (SlotPool pool = new SlotPool(device, layout, budget, 1, 0, RowSlotIndex.DIRECT)) {
                assertTrue(pool.directIndex(pool.addTable(new TableSpec("big", 1_000_000, 4, Optimizer.SGD))));
            }
            try (SlotPool pool = new SlotPool(device, layout, budget, 1, 0, RowSlotIndex.HASHED)) {
                assertFalse(pool.directIndex(pool.addTable(new TableSpec("small", 10, 4, Optimizer.SGD))));
                assertFalse(pool.directIndex(pool.addResidentTable(new TableSpec("resident", 10, 4, Optimizer.SGD), 1, 1)));
            }
        }
    }

    /** A bad -Dember.hot.rowIndex names the property and what it may be. */
    @Test
    void aBadPropertyIsNamed() {
        String before = System.getProperty(RowSlotIndex.PROPERTY);
        try {
            System.setProperty(RowSlotIndex.PROPERTY, "sparse");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, RowSlotIndex::fromProperty);
            assertTrue(e.getMessage().contains("ember.hot.rowIndex") && e.getMessage().contains("sparse"), e.getMessage());
            System.setProperty(RowSlotIndex.PROPERTY, " Direct ");
            assertEquals(RowSlotIndex.DIRECT, RowSlotIndex.fromProperty());
        } finally {
            if (before == null) {
                System.clearProperty(RowSlotIndex.PROPERTY);
            } else {
                System.setProperty(RowSlotIndex.PROPERTY, before);
            }
        }
    }
}
