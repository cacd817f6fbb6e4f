package dev.ember.gpu.pool;

/**
 * Row id to slot for one table, or for one stripe of a table ({@link RowSlotStripes}): rows
 * {@code >= 0}, slots {@code >= 0}, -1 for a row that is not mapped. One thread writes at a time.
 * Two kinds: {@link RowSlotMap} (open addressing, 32 host bytes per mapped row) and
 * {@link DirectRowSlots} (one int per row of the table, mapped or not); {@link RowSlotIndex} says
 * which a table gets.
 */
interface RowSlots extends AutoCloseable {
    /** The slot of {@code row}, or -1 (also for a row outside the table). */
    int get(long row);

    /** Maps {@code row} to {@code slot}; returns false (and changes nothing) if the row is mapped. */
    boolean putIfAbsent(long row, int slot);

    /** Unmaps {@code row}; returns its slot, or -1 if it was not mapped. */
    int remove(long row);

    /** Changes the slot of a mapped row (an unmapped row is an error). */
    void replace(long row, int slot);

    /** Rows mapped. */
    int size();

    /** Calls {@code visitor} for every (row, slot); nothing may change meanwhile. */
    void forEach(Visitor visitor);

    @Override
    void close();

    /** What {@link #forEach} calls. */
    @FunctionalInterface
    interface Visitor {
        void visit(long row, int slot);
    }
}
