package dev.ember.cache.store;

import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.jmx.StoreMXBean;

import java.time.Instant;

/** The store's MXBean: getters read the store's current state. */
final class StoreView implements StoreMXBean {
    private final Store store;

    StoreView(Store store) {
        this.store = store;
    }

    @Override
    public String getDirectory() {
        return store.directory().toAbsolutePath().toString();
    }

    @Override
    public String[] getTables() {
        return store.tables().stream().map(ColdTable::name).toArray(String[]::new);
    }

    @Override
    public long getLastCheckpointStep() {
        return store.lastCheckpoint().step();
    }

    @Override
    public String getLastCheckpointTime() {
        return Instant.ofEpochMilli(store.lastCheckpoint().timeMillis()).toString();
    }

    @Override
    public long getCheckpointEpoch() {
        return store.lastCheckpoint().epoch();
    }

    @Override
    public double getLastCheckpointMillis() {
        return store.lastCheckpointMillis();
    }

    @Override
    public long getLastCheckpointBytes() {
        return store.lastCheckpointBytes();
    }

    @Override
    public long getUndoLogBytes() {
        return store.undoLogBytes();
    }

    @Override
    public boolean isUndoLogEnabled() {
        return store.undoLogEnabled();
    }
}
