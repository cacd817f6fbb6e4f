package dev.ember.gpu.pool;

import static dev.ember.gpu.device.UnsafeMemory.UNSAFE;

/**
 * Row id to slot as a plain off-heap array with one int per row of the table, shared by the
 * table's {@code S} stripes; this object is stripe {@code s}, which owns the rows of the blocks
 * {@code b} with {@code b % S == s} and is the only one that writes them:
 * <pre>
 *  array: | row 0: slot or -1 | row 1 | ... | row rows-1 |      4 * rows bytes (the table's rows, mapped or not)
 *  block b: rows [16b, 16b + 16) = one 64-byte line; its stripe: b & (S - 1)
 * </pre>
 * Single operations go through the row's stripe. The map threads share a call's rows out in
 * contiguous parts instead (see {@link RowSlotStripes#share}), with atomic puts and removals, each
 * thread counting its rows in its own view: the views' sizes sum to the rows mapped.
 *
 * <p><b>Why.</b> With the hashed map ({@link RowSlotMap}) a demotion's removal is a probe and a
 * backward shift through a run of entries, each a likely miss to memory on a map of megabytes;
 * at dim 64 the map threads' removals, not the copy, bound demotion on the GPU machine
 * (docs/BENCHMARKS.md, "Promote and demote"). Here a lookup, a put and a removal are one access to
 * a known address, so a thread keeps many misses in flight. It costs 4 bytes per table row where
 * the hashed map costs 32 per mapped row: less once more than one row in eight of the table is
 * hot ({@link RowSlotIndex#AUTO} picks by the pool's size).
 *
 * <p>The array belongs to the {@link RowSlotStripes} that made the stripes; {@link #close} here
 * does nothing.
 */
final class DirectRowSlots extends DirectRowSlotsFields implements RowSlots {
    /** Rows in a block (one 64-byte line of ints). */
    static final int BLOCK_SHIFT = 4;
    private static final int EMPTY = -1;
    // Padding after the fields (the superclasses pad before them): the stripes of one table are
    // written by different threads at once, and their objects sit side by side on the heap.
    long p10, p11, p12, p13, p14, p15, p16, p17;

    /** Stripe {@code stripe} of {@code stripes} over {@code array}, which holds {@code rows} ints. */
    DirectRowSlots(long array, long rows, int stripe, int stripes) {
        this.array = array;
        this.rows = rows;
        this.stripe = stripe;
        this.stripes = stripes;
    }

    /** The stripe of {@code row} among {@code stripes} (a power of two). */
    static int stripeOf(long row, int stripes) {
        return (int) (row >>> BLOCK_SHIFT) & (stripes - 1);
    }

    @Override
    public int get(long row) {
        if (row < 0 || row >= rows) {
            return EMPTY;
        }
        return UNSAFE.getInt(array + 4 * row);
    }

    @Override
    public boolean putIfAbsent(long row, int slot) {
        if (row < 0 || row >= rows || slot < 0) {
            throw new IllegalArgumentException("a direct row-to-slot index holds rows in [0, " + rows + ") and slots >= 0, got row "
                    + row + ", slot " + slot);
        }
        long a = array + 4 * row;
        if (UNSAFE.getInt(a) != EMPTY) {
            return false;
        }
        UNSAFE.putInt(a, slot);
        size++;
        return true;
    }

    @Override
    public int remove(long row) {
        if (row < 0 || row >= rows) {
            return EMPTY;
        }
        long a = array + 4 * row;
        int slot = UNSAFE.getInt(a);
        if (slot != EMPTY) {
            UNSAFE.putInt(a, EMPTY);
            size--;
        }
        return slot;
    }

    /**
     * {@link #putIfAbsent} as one atomic compare-and-set, for rows other threads may put or remove
     * at once (the map threads' contiguous parts of a call); counted in this view's size, which
     * may then differ from the rows in its blocks (the views' sizes still sum to the rows mapped).
     */
    boolean putIfAbsentAtomically(long row, int slot) {
        if (row < 0 || row >= rows || slot < 0) {
            throw new IllegalArgumentException("a direct row-to-slot index holds rows in [0, " + rows + ") and slots >= 0, got row "
                    + row + ", slot " + slot);
        }
        if (!UNSAFE.compareAndSwapInt(null, array + 4 * row, EMPTY, slot)) {
            return false;
        }
        size++;
        return true;
    }

    /** {@link #remove} as one atomic exchange (see {@link #putIfAbsentAtomically}). */
    int removeAtomically(long row) {
        if (row < 0 || row >= rows) {
            return EMPTY;
        }
        int slot = UNSAFE.getAndSetInt(null, array + 4 * row, EMPTY);
        if (slot != EMPTY) {
            size--;
        }
        return slot;
    }

    @Override
    public void replace(long row, int slot) {
        if (get(row) == EMPTY || slot < 0) {
            throw new IllegalStateException("row " + row + " is not mapped (or slot " + slot + " < 0)");
        }
        UNSAFE.putInt(array + 4 * row, slot);
    }

    @Override
    public int size() {
        return size;
    }

    /** Visits this stripe's blocks only (the stripes together visit the array once). */
    @Override
    public void forEach(Visitor visitor) {
        for (long from = (long) stripe << BLOCK_SHIFT; from < rows; from += (long) stripes << BLOCK_SHIFT) {
            long to = Math.min(rows, from + (1 << BLOCK_SHIFT));
            for (long row = from; row < to; row++) {
                int slot = UNSAFE.getInt(array + 4 * row);
                if (slot != EMPTY) {
                    visitor.visit(row, slot);
                }
            }
        }
    }

    @Override
    public void close() {
        // the array is the RowSlotStripes' to free
    }
}

/** Padding before {@link DirectRowSlotsFields} (Agrona's layout trick: superclass fields come first). */
abstract class DirectRowSlotsPadding {
    long p00, p01, p02, p03, p04, p05, p06, p07;
}

/** The fields of a {@link DirectRowSlots}, padded on both sides against false sharing. */
abstract class DirectRowSlotsFields extends DirectRowSlotsPadding {
    long array;
    long rows;
    int stripe;
    int stripes;
    int size;
}
