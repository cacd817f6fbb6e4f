package dev.ember.gpu.pool;

import dev.ember.gpu.device.UnsafeMemory;

import static dev.ember.gpu.device.UnsafeMemory.UNSAFE;

/**
 * Row id to slot, one map per table, off-heap: open addressing with linear probing; rows are
 * {@code >= 0}.
 *
 * <pre>
 *  entry i (16 bytes): | row: long (-1 = empty, -2 = removed) | slot: int | pad: int |
 *  capacity: a power of two >= 2 * (rows + removed entries)
 * </pre>
 *
 * <p><b>Removal leaves a tombstone</b> (-2) unless the next entry is empty, in which case the
 * entry and the tombstones right before it become empty: no probe run crosses them. Lookups step
 * over tombstones; an insert takes the first tombstone on its probe run. When rows plus
 * tombstones would pass half the capacity the map is rebuilt without tombstones, at the same
 * capacity while rows fill at most a quarter of it, else at twice it. Why: a demotion's removals
 * are on the critical path of its copies (the copy of a chunk waits for its slots), and Knuth's
 * backward shift (tried first) rehashes and moves the rest of the probe run on every removal, with
 * a hard-to-predict branch per entry: 18.6 ns a removal against 8.4 ns a lookup in a 262,144-row
 * map on the dev box (one thread, {@code MoveMapBench}).
 *
 * <p><b>Why translate on the host.</b> The host already touches every id of a batch (dedup,
 * hot-set check), so turning an id into a slot there adds one probe of this map and costs 32 host
 * bytes per hot row (16-byte entries at load <= 1/2) and no device bytes. Measured on the H200
 * machine's host (JMH {@code HotTierBench.gather}, 1M hot rows, Zipf batches of 65,536 ids):
 * 70-86 M ids/s end to end (translation, index upload, kernel, synchronisation), i.e. ~12-14 ns
 * an id; a Kaggle step (2048 x 26 ids) translates in ~0.7 ms on one core, and tables translate
 * independently. A device-side remap instead spends device memory the budget would otherwise
 * spend on rows: a dense {@code int} per row of the table is 4 bytes x rows (a 40M-row Criteo
 * table: 160 MB, against 6.4 MB for its 100K hottest rows at dim 16 with SGD, 25 times the hot
 * data), and a device hash table needs ~16 B per hot row plus a dependent probe load before every
 * row load in the gather kernel. The slot ids the host sends are 4 bytes per id, half the 8-byte
 * row ids a device-side remap would need. Moves map many rows at once: {@link RowSlotStripes}
 * splits a table's map in stripes of this class that {@link MapThreads} work on in parallel
 * (fork-join tasks per chunk over 16 stripes had measured slower than one thread, 10.7 against
 * 16.7 GB/s; persistent threads woken once per move reach 31.8 GB/s, dim 64, 8 threads, H200).
 * Resident ({@code device} mode) tables need neither: slot = base + row.
 */
public final class RowSlotMap extends RowSlotMapFields implements AutoCloseable {
    private static final long EMPTY = -1L;
    private static final long REMOVED = -2L;
    private static final int ENTRY = 16;
    // Padding after the fields (the superclasses pad before them): the stripes of one table are
    // written by different threads at once, and their objects sit side by side on the heap.
    long p10, p11, p12, p13, p14, p15, p16, p17;


    public RowSlotMap(int expected) {
        int cap = Math.max(16, Integer.highestOneBit(Math.max(1, expected) * 2 - 1) << 1);
        allocate(cap);
    }

    private void allocate(int cap) {
        table = UnsafeMemory.allocate((long) cap * ENTRY, "a row-to-slot map");
        mask = cap - 1;
        for (long i = 0; i < cap; i++) {
            UNSAFE.putLong(table + i * ENTRY, EMPTY);
        }
    }

    public int size() {
        return size;
    }

    /** Tombstones in the table now (tests: they are bounded and reclaimed). */
    int removedEntries() {
        return removed;
    }

    /** Entries the table has room for (tests: it grows and is rebuilt as the Javadoc says). */
    int capacity() {
        return mask + 1;
    }

    /** The entry {@code row}'s probe run starts at (tests). */
    int home(long row) {
        return hash(row) & mask;
    }

    /** The slot of {@code row}, or -1. */
    public int get(long row) {
        if (row < 0) {
            return -1;
        }
        int i = hash(row) & mask;
        while (true) {
            long a = table + (long) i * ENTRY;
            long k = UNSAFE.getLong(a);
            if (k == row) {
                return UNSAFE.getInt(a + 8);
            }
            if (k == EMPTY) {
                return -1;
            }
            i = (i + 1) & mask;
        }
    }

    /**
     * The first word of {@code row}'s home entry: a load the caller issues some rows ahead of
     * working on {@code row}, so that several cache misses are in flight at once instead of one
     * after another (Java has no prefetch instruction; the caller keeps the value so the load
     * is not dropped).
     */
    long touch(long row) {
        return UNSAFE.getLong(table + (long) (hash(row) & mask) * ENTRY);
    }

    /** Maps {@code row} to {@code slot}; returns false (and changes nothing) if the row is mapped. */
    public boolean putIfAbsent(long row, int slot) {
        if (row < 0) {
            throw new IllegalArgumentException("row ids in a row-to-slot map must be >= 0, got " + row);
        }
        if (2 * (size + removed + 1) > mask + 1) {
            rebuild(4L * (size + 1) > mask + 1 ? 2L * (mask + 1) : mask + 1);
        }
        return insert(row, slot);
    }

    private boolean insert(long row, int slot) {
        int i = hash(row) & mask;
        long reuse = 0;
        while (true) {
            long a = table + (long) i * ENTRY;
            long k = UNSAFE.getLong(a);
            if (k == row) {
                return false;
            }
            if (k == EMPTY) {
                if (reuse != 0) {
                    a = reuse;
                    removed--;
                }
                UNSAFE.putLong(a, row);
                UNSAFE.putInt(a + 8, slot);
                size++;
                return true;
            }
            if (k == REMOVED && reuse == 0) {
                reuse = a;
            }
            i = (i + 1) & mask;
        }
    }

    /** Changes the slot of a mapped row. */
    void replace(long row, int slot) {
        int i = hash(row) & mask;
        while (true) {
            long a = table + (long) i * ENTRY;
            long k = UNSAFE.getLong(a);
            if (k == row) {
                UNSAFE.putInt(a + 8, slot);
                return;
            }
            if (k == EMPTY) {
                throw new IllegalStateException("row " + row + " is not mapped");
            }
            i = (i + 1) & mask;
        }
    }

    /** Unmaps {@code row}; returns its slot or -1. */
    public int remove(long row) {
        if (row < 0) {
            return -1;
        }
        int i = hash(row) & mask;
        while (true) {
            long a = table + (long) i * ENTRY;
            long k = UNSAFE.getLong(a);
            if (k == EMPTY) {
                return -1;
            }
            if (k == row) {
                int slot = UNSAFE.getInt(a + 8);
                if (UNSAFE.getLong(table + (long) ((i + 1) & mask) * ENTRY) == EMPTY) {
                    clearBack(i);
                } else {
                    UNSAFE.putLong(a, REMOVED);
                    removed++;
                }
                size--;
                return slot;
            }
            i = (i + 1) & mask;
        }
    }

    /**
     * Empties entry {@code i}, followed by an empty entry, and the tombstones right before it: no
     * probe run reaches past an empty entry, so none needs them.
     */
    private void clearBack(int i) {
        UNSAFE.putLong(table + (long) i * ENTRY, EMPTY);
        for (int j = (i - 1) & mask; UNSAFE.getLong(table + (long) j * ENTRY) == REMOVED; j = (j - 1) & mask) {
            UNSAFE.putLong(table + (long) j * ENTRY, EMPTY);
            removed--;
        }
    }

    /** Calls {@code visitor} for every (row, slot). The map must not change meanwhile. */
    public void forEach(Visitor visitor) {
        for (long i = 0; i <= mask; i++) {
            long a = table + i * ENTRY;
            long k = UNSAFE.getLong(a);
            if (k >= 0) {
                visitor.visit(k, UNSAFE.getInt(a + 8));
            }
        }
    }

    public interface Visitor {
        void visit(long row, int slot);
    }

    /** Moves the rows into a fresh table of {@code cap} entries, without tombstones. */
    private void rebuild(long cap) {
        if (cap > 1 << 30) {
            throw new IllegalStateException("row-to-slot map is full at " + size + " rows");
        }
        long old = table;
        int oldCap = mask + 1;
        allocate((int) cap);
        size = 0;
        removed = 0;
        for (long i = 0; i < oldCap; i++) {
            long a = old + i * ENTRY;
            long k = UNSAFE.getLong(a);
            if (k >= 0) {
                insert(k, UNSAFE.getInt(a + 8));
            }
        }
        UnsafeMemory.free(old);
    }

    private static int hash(long row) {
        long z = row * 0x9E3779B97F4A7C15L;
        return (int) (z ^ (z >>> 32));
    }

    @Override
    public void close() {
        if (table != 0) {
            UnsafeMemory.free(table);
            table = 0;
        }
    }
}

/** Padding before {@link RowSlotMapFields} (Agrona's layout trick: superclass fields come first). */
abstract class RowSlotMapPadding {
    long p00, p01, p02, p03, p04, p05, p06, p07;
}

/** The mutable fields of a {@link RowSlotMap}, padded on both sides against false sharing. */
abstract class RowSlotMapFields extends RowSlotMapPadding {
    long table;
    int mask;
    int size;
    /** Tombstones: entries of removed rows that probe runs still cross. */
    int removed;
}
