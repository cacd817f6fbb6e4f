package dev.ember.gpu.pool;

import java.util.Locale;

/**
 * Which row-to-slot translation a table of a {@link SlotPool} gets: {@code -Dember.hot.rowIndex=}
 * {@code auto} (the default), {@code direct} or {@code hashed}.
 */
public enum RowSlotIndex {
    /**
     * {@link #DIRECT} where its array costs no more host memory than the hashed map would with the
     * whole pool full of the table's rows (4 bytes a table row against 32 a mapped row: the table
     * has at most {@value #DIRECT_ROWS_PER_SLOT} rows a slot of the pool), else {@link #HASHED}.
     */
    AUTO,
    /** {@link DirectRowSlots}: one int per table row; a lookup, a put and a removal are one memory access each. */
    DIRECT,
    /** {@link RowSlotMap}: open addressing, 32 host bytes per mapped row whatever the table's size. */
    HASHED;

    /** A table may have this many rows per slot of the pool and still get a direct index under {@link #AUTO}. */
    public static final int DIRECT_ROWS_PER_SLOT = 8;
    public static final String PROPERTY = "ember.hot.rowIndex";

    /** The index given by {@code -Dember.hot.rowIndex} (default auto); another value is an error that names it. */
    public static RowSlotIndex fromProperty() {
        String v = System.getProperty(PROPERTY, "auto");
        try {
            return valueOf(v.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PROPERTY + " must be auto, direct or hashed, got '" + v + "'");
        }
    }

    /** Whether a table of {@code rows} rows gets a direct index in a pool of {@code capacity} slots. */
    boolean direct(long rows, long capacity) {
        switch (this) {
            case DIRECT: return true;
            case HASHED: return false;
            default: return rows <= DIRECT_ROWS_PER_SLOT * capacity;
        }
    }
}
