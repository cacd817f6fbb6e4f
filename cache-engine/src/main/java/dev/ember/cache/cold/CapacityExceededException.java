package dev.ember.cache.cold;

/** An insert would store more rows than a table's capacity; nothing was written. */
public final class CapacityExceededException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public CapacityExceededException(String table, long stored, long newRows, long capacity) {
        super("table " + table + ": storing " + newRows + " new rows would exceed its capacity of " + capacity
                + " rows (" + stored + " stored); nothing was written. Raise the table's capacity"
                + " (StoreConfig capacity/headroom when creating) or grow it offline:"
                + " ember store grow <dir> --table " + table + " --rows <n>");
    }
}
