package dev.ember.trainer.train;

import java.util.concurrent.atomic.LongAdder;

/** Counters an {@link EmbeddingPath} bumps on its hot path; the report reads them. */
public final class PathCounters {
    /** Row reads served by the host (cold tier). */
    public final LongAdder hostGathers = new LongAdder();
    /** Unique ids served from the hot tier. */
    public final LongAdder hotIds = new LongAdder();
    /** Unique ids served from the cold tier. */
    public final LongAdder coldIds = new LongAdder();
    /** Nanoseconds spent gathering and pooling cold rows on the host. */
    public final LongAdder coldGatherNanos = new LongAdder();

    /** Hot ids over all ids served; NaN before any lookup. */
    public double hitRate() {
        long hot = hotIds.sum();
        long all = hot + coldIds.sum();
        return all == 0 ? Double.NaN : (double) hot / all;
    }
}
