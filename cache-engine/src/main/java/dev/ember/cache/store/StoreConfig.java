package dev.ember.cache.store;

import dev.ember.cache.table.TableSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How to create or open a store: the tables (in table-number order), the seed of untouched rows,
 * capacity, threads and whether pre-images are logged.
 *
 * <p>Capacity: a table stores at most {@code capacity} rows. By default that is the table's
 * {@code rows} (it can never fill up); when only some rows will ever be trained, give the expected
 * count and a headroom factor: capacity = min(rows, ceil(expected x headroom)). The map file is
 * sized and preallocated for the capacity, so this is also its disk cost.
 */
public final class StoreConfig {
    /** Default headroom over expected rows. */
    public static final double DEFAULT_HEADROOM = 1.25;

    private final List<TableSpec> tables;
    private final Map<String, Long> expectedRows;
    private final double headroom;
    private final long seed;
    private final int threads;
    private final boolean undoLog;
    private final boolean syncUndoLog;
    private final boolean positionIndex;
    private final boolean jmx;

    private StoreConfig(Builder b) {
        this.tables = List.copyOf(b.tables);
        this.expectedRows = Map.copyOf(b.expectedRows);
        this.headroom = b.headroom;
        this.seed = b.seed;
        this.threads = b.threads;
        this.undoLog = b.undoLog;
        this.syncUndoLog = b.syncUndoLog;
        this.positionIndex = b.positionIndex;
        this.jmx = b.jmx;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Opening an existing store with the tables its manifest names. */
    public static StoreConfig existing() {
        return builder().build();
    }

    /** Tables to create, or to check against the manifest on open (empty: take the manifest's). */
    public List<TableSpec> tables() {
        return tables;
    }

    public long seed() {
        return seed;
    }

    public int threads() {
        return threads;
    }

    public boolean undoLog() {
        return undoLog;
    }

    public boolean syncUndoLog() {
        return syncUndoLog;
    }

    public boolean positionIndex() {
        return positionIndex;
    }

    public boolean jmx() {
        return jmx;
    }

    public double headroom() {
        return headroom;
    }

    /** The capacity a new table gets. */
    public long capacity(TableSpec spec) {
        Long expected = expectedRows.get(spec.name());
        if (expected == null) {
            return spec.rows();
        }
        return Math.min(spec.rows(), Math.max(1L, (long) Math.ceil(expected * headroom)));
    }

    public static final class Builder {
        private final List<TableSpec> tables = new ArrayList<>();
        private final Map<String, Long> expectedRows = new LinkedHashMap<>();
        private double headroom = DEFAULT_HEADROOM;
        private long seed;
        private int threads = 1;
        private boolean undoLog = true;
        private boolean syncUndoLog = false;
        private boolean positionIndex = true;
        private boolean jmx = true;

        public Builder table(TableSpec spec) {
            for (TableSpec t : tables) {
                if (t.name().equals(spec.name())) {
                    throw new IllegalArgumentException("table " + spec.name() + " is listed twice");
                }
            }
            tables.add(spec);
            return this;
        }

        /** A table of which about {@code expected} rows will ever be written (capacity = expected x headroom). */
        public Builder table(TableSpec spec, long expected) {
            if (expected <= 0) {
                throw new IllegalArgumentException("table " + spec.name() + ": expected rows must be > 0, got " + expected);
            }
            table(spec);
            expectedRows.put(spec.name(), expected);
            return this;
        }

        public Builder tables(List<TableSpec> specs) {
            specs.forEach(this::table);
            return this;
        }

        public Builder headroom(double factor) {
            if (!(factor >= 1.0)) {
                throw new IllegalArgumentException("headroom must be >= 1.0, got " + factor);
            }
            this.headroom = factor;
            return this;
        }

        /** Seed of the initial values of untouched rows; recorded in the manifest at creation. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder threads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be >= 1, got " + threads);
            }
            this.threads = threads;
            return this;
        }

        /** Off only for measuring its cost: without pre-images a crash cannot be rolled back. */
        public Builder undoLog(boolean on) {
            this.undoLog = on;
            return this;
        }

        /**
         * Whether each batch's pre-images are forced to the device (fdatasync) before its rows change
         * (default off: the failure model is a process crash, DESIGN.md Durability). Off, they are only written: a process crash still restores the exact
         * checkpoint (the page cache outlives the process), a machine crash is not covered either
         * way (mapped table files have no write ordering), and applies skip one fdatasync per
         * table per batch (about half of apply time on the dev box's disk).
         */
        public Builder syncUndoLog(boolean on) {
            this.syncUndoLog = on;
            return this;
        }

        /**
         * Whether each table keeps an off-heap index of where its rows lie in the mapped file
         * (default on; 8 bytes x the table's rows, off-heap). Gathers of rows seen before then copy
         * straight from the mapping instead of a Chronicle lookup (about 10x faster here). Turn it
         * off for tables with far more ids than stored rows where that memory matters.
         */
        public Builder positionIndex(boolean on) {
            this.positionIndex = on;
            return this;
        }

        public Builder jmx(boolean on) {
            this.jmx = on;
            return this;
        }

        public StoreConfig build() {
            return new StoreConfig(this);
        }
    }
}
