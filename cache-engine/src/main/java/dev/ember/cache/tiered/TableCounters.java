package dev.ember.cache.tiered;

import dev.ember.cache.jmx.TierStats;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/** One table's tiering counters: bumped on the step path, read by MXBeans and reports. */
public final class TableCounters implements TierStats {
    final LongAdder hotIds = new LongAdder();
    final LongAdder coldIds = new LongAdder();
    final LongAdder rowsFetched = new LongAdder();
    private final LongSupplier hotRows;

    TableCounters(LongSupplier hotRows) {
        this.hotRows = hotRows;
    }

    @Override
    public long hotRows() {
        return hotRows.getAsLong();
    }

    @Override
    public long hotHits() {
        return hotIds.sum();
    }

    @Override
    public long coldMisses() {
        return coldIds.sum();
    }

    /** Rows read from the cold tier for batches (synchronously or ahead of time). */
    public long rowsFetched() {
        return rowsFetched.sum();
    }

    void restore(long hits, long misses, long fetched) {
        hotIds.reset();
        coldIds.reset();
        rowsFetched.reset();
        hotIds.add(hits);
        coldIds.add(misses);
        rowsFetched.add(fetched);
    }
}
