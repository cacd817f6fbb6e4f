package dev.ember.cache.jmx;

/** {@code dev.ember:type=Table,name=<table>}: one table's cold tier. */
public interface TableMXBean {
    String getName();

    long getRowsStored();

    long getCapacity();

    /** Rows that can still be stored before inserts are refused ({@code ember store grow} raises it). */
    long getHeadroom();

    long getBytesOnDisk();

    long getBytesMapped();

    /** Gather batches served. */
    long getGathers();

    /** Apply batches served. */
    long getApplies();

    long getRowsRead();

    long getRowsWritten();

    /** Rows whose pre-image is in the undo log since the last checkpoint. */
    long getRowsLogged();

    /** Rows owned by the hot tier (0 when no tiered store runs over the table). */
    long getHotRows();

    /** Unique ids served by the hot tier. */
    long getHotHits();

    /** Unique ids served by the cold tier. */
    long getColdMisses();
}
