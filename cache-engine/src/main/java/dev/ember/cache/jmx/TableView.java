package dev.ember.cache.jmx;

import dev.ember.cache.cold.ColdTable;

/** A table's MXBean: getters compute from the table and its counters. */
public final class TableView implements TableMXBean {
    private final ColdTable table;
    private volatile TierStats tier;

    public TableView(ColdTable table) {
        this.table = table;
    }

    /** Attaches (or with null detaches) the tiered store's view of this table. */
    public void attach(TierStats stats) {
        this.tier = stats;
    }

    @Override
    public long getHotRows() {
        TierStats t = tier;
        return t == null ? 0 : t.hotRows();
    }

    @Override
    public long getHotHits() {
        TierStats t = tier;
        return t == null ? 0 : t.hotHits();
    }

    @Override
    public long getColdMisses() {
        TierStats t = tier;
        return t == null ? 0 : t.coldMisses();
    }

    @Override
    public String getName() {
        return table.name();
    }

    @Override
    public long getRowsStored() {
        return table.rowsStored();
    }

    @Override
    public long getCapacity() {
        return table.capacity();
    }

    @Override
    public long getHeadroom() {
        return table.headroom();
    }

    @Override
    public long getBytesOnDisk() {
        return table.bytesOnDisk();
    }

    @Override
    public long getBytesMapped() {
        return table.bytesMapped();
    }

    @Override
    public long getGathers() {
        return table.counters().gathers();
    }

    @Override
    public long getApplies() {
        return table.counters().applies();
    }

    @Override
    public long getRowsRead() {
        return table.counters().rowsRead();
    }

    @Override
    public long getRowsWritten() {
        return table.counters().rowsWritten();
    }

    @Override
    public long getRowsLogged() {
        return table.rowsLogged();
    }
}
