package dev.ember.gpu.pool;

import dev.ember.gpu.device.UnsafeMemory;

import static dev.ember.gpu.device.UnsafeMemory.UNSAFE;

/**
 * Row id to slot, one map per table, off-heap: open addressing with linear probing and
 * backward-shift deletion (no tombstones); rows in {@code [0, 2^32 - 1)}, slots {@code >= 0}; at
 * most one row per {@code room} entries (a power of two, 4 by default).
 *
 * <pre>
 *  entry i (8 bytes, one long): | row: upper 32 bits | slot: lower 32 bits |   -1 = empty
 *  capacity: a power of two >= room * size
 * </pre>
 *
 * <p><b>Why 8-byte entries at room 4.</b> At a load of 1/2 (room 2, 16-byte entries: the
 * row's long, the slot, padding) probe runs were long enough that a removal's backward shift (a
 * rehash and a hard-to-predict branch for every later entry of the run) cost twice a lookup, and
 * an insert walked the same runs. Room 4 shortens the runs; packing row and slot in one long keeps
 * the table as large as before (32 host bytes per mapped row), so it fits the same caches, and
 * one load reads both. JMH on the dev box (one thread, 262,144 rows): a removal and a put of
 * one row in eight took 40.8 ns with the old map (16-byte entries, room 2), 17.0 ns with this
 * one ({@code RowSlotMapBench}); a demotion's removals ran at 99 M rows/s against 56
 * ({@code MoveMapBench}; docs/BENCHMARKS.md, "Promote and demote", fourth pass). Tombstones
 * instead of the backward shift (tried: commit 06f159a) made removal cheaper (9-10 ns at room 2)
 * but inserts past them dearer (24-26 ns when one row in eight or two moved), and lost to room 4
 * at both.
 *
 * <p><b>Why translate on the host.</b> The host already touches every id of a batch (dedup,
 * hot-set check), so turning an id into a slot there adds one probe of this map and costs 32 host
 * bytes per hot row (8-byte entries at load <= 1/4) and no device bytes. Measured on the H200
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
 * Resident ({@code device} mode) tables need neither: slot = base + row. On the host the same dense
 * int per row is cheaper than this map once a table has at most 8 rows per pool slot
 * ({@link DirectRowSlots}: {@link RowSlotIndex#AUTO} picks it then); this map serves the rest.
 */
public final class RowSlotMap extends RowSlotMapFields implements RowSlots {
    /** Rows are {@code < ROW_LIMIT} (2^32 - 1): an entry holds the row in its upper 32 bits. */
    public static final long ROW_LIMIT = (1L << 32) - 1;
    /** An empty entry: no row (the row bits would be 2^32 - 1) and no slot (slots are >= 0). */
    private static final long EMPTY = -1L;
    private static final int ENTRY = 8;
    // Padding after the fields (the superclasses pad before them): the stripes of one table are
    // written by different threads at once, and their objects sit side by side on the heap.
    long p10, p11, p12, p13, p14, p15, p16, p17;


    /** Default entries per mapped row (at least; a power of two). */
    static final int ROOM = 4;

    private final int room;

    public RowSlotMap(int expected) {
        this(expected, ROOM);
    }

    /** A map for about {@code expected} rows with at least {@code room} entries per row (a power of two, 2..64). */
    public RowSlotMap(int expected, int room) {
        if (room < 2 || room > 64 || Integer.bitCount(room) != 1) {
            throw new IllegalArgumentException("entries per row of a row-to-slot map must be a power of two in 2..64, got "
                    + room + " (set ember.hot.mapRoom)");
        }
        this.room = room;
        long rows = Integer.highestOneBit(Math.max(1, expected) * 2 - 1); // expected, rounded up to a power of two
        allocate((int) Math.min(1 << 30, Math.max(16, rows * room)));
    }

    private void allocate(int cap) {
        table = UnsafeMemory.allocate((long) cap * ENTRY, "a row-to-slot map");
        mask = cap - 1;
        UNSAFE.setMemory(table, (long) cap * ENTRY, (byte) 0xFF); // every entry EMPTY
    }

    @Override
    public int size() {
        return size;
    }

    /** Entries the table has room for (tests). */
    int capacity() {
        return mask + 1;
    }

    /** The entry {@code row}'s probe run starts at (tests). */
    int home(long row) {
        return hash(row) & mask;
    }

    /** The slot of {@code row}, or -1. */
    @Override
    public int get(long row) {
        if (row < 0 || row >= ROW_LIMIT) {
            return -1;
        }
        int i = hash(row) & mask;
        while (true) {
            long e = UNSAFE.getLong(table + (long) i * ENTRY);
            if (e >>> 32 == row) {
                return (int) e;
            }
            if (e == EMPTY) {
                return -1;
            }
            i = (i + 1) & mask;
        }
    }

    /** Maps {@code row} to {@code slot}; returns false (and changes nothing) if the row is mapped. */
    @Override
    public boolean putIfAbsent(long row, int slot) {
        if (row < 0 || row >= ROW_LIMIT || slot < 0) {
            throw new IllegalArgumentException("a row-to-slot map holds rows in [0, " + ROW_LIMIT + ") and slots >= 0, got row "
                    + row + ", slot " + slot);
        }
        if ((long) room * (size + 1) > mask + 1) {
            grow();
        }
        return insert(row << 32 | slot);
    }

    private boolean insert(long entry) {
        long row = entry >>> 32;
        int i = hash(row) & mask;
        while (true) {
            long a = table + (long) i * ENTRY;
            long e = UNSAFE.getLong(a);
            if (e >>> 32 == row) {
                return false;
            }
            if (e == EMPTY) {
                UNSAFE.putLong(a, entry);
                size++;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /** Changes the slot of a mapped row. */
    @Override
    public void replace(long row, int slot) {
        int i = hash(row) & mask;
        while (true) {
            long a = table + (long) i * ENTRY;
            long e = UNSAFE.getLong(a);
            if (e >>> 32 == row) {
                UNSAFE.putLong(a, row << 32 | (slot & 0xFFFFFFFFL));
                return;
            }
            if (e == EMPTY) {
                throw new IllegalStateException("row " + row + " is not mapped");
            }
            i = (i + 1) & mask;
        }
    }

    /** Unmaps {@code row}; returns its slot or -1. */
    @Override
    public int remove(long row) {
        if (row < 0 || row >= ROW_LIMIT) {
            return -1;
        }
        int i = hash(row) & mask;
        while (true) {
            long e = UNSAFE.getLong(table + (long) i * ENTRY);
            if (e >>> 32 == row) {
                shiftBack(i);
                size--;
                return (int) e;
            }
            if (e == EMPTY) {
                return -1;
            }
            i = (i + 1) & mask;
        }
    }

    /** Calls {@code visitor} for every (row, slot). The map must not change meanwhile. */
    @Override
    public void forEach(Visitor visitor) {
        for (long i = 0; i <= mask; i++) {
            long e = UNSAFE.getLong(table + i * ENTRY);
            if (e != EMPTY) {
                visitor.visit(e >>> 32, (int) e);
            }
        }
    }

    /** Knuth's backward shift: moves later entries of the probe run into the hole at {@code hole}. */
    private void shiftBack(int hole) {
        int i = hole;
        while (true) {
            i = (i + 1) & mask;
            long e = UNSAFE.getLong(table + (long) i * ENTRY);
            if (e == EMPTY) {
                break;
            }
            int home = hash(e >>> 32) & mask;
            // The entry at i may move to hole when its home is not cyclically in (hole, i].
            boolean stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
            if (!stays) {
                UNSAFE.putLong(table + (long) hole * ENTRY, e);
                hole = i;
            }
        }
        UNSAFE.putLong(table + (long) hole * ENTRY, EMPTY);
    }

    private void grow() {
        long old = table;
        int oldCap = mask + 1;
        if (oldCap >= 1 << 30) {
            throw new IllegalStateException("row-to-slot map is full at " + size + " rows");
        }
        allocate(oldCap * 2);
        size = 0;
        for (long i = 0; i < oldCap; i++) {
            long e = UNSAFE.getLong(old + i * ENTRY);
            if (e != EMPTY) {
                insert(e);
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
}
