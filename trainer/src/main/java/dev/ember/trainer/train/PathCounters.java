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
    /** Training batches whose every id was hot (FAE's hot mini-batches, or cache batches that happened to be). */
    public final LongAdder hotBatches = new LongAdder();
    /** Training batches with at least one cold id. */
    public final LongAdder coldBatches = new LongAdder();
    /** Samples of training batches whose every id was hot. */
    public final LongAdder hotSamples = new LongAdder();
    /** Samples trained. */
    public final LongAdder samples = new LongAdder();
    /** Host row gathers made by batches classified hot: FAE promises zero. */
    public final LongAdder hotBatchHostGathers = new LongAdder();

    /** Step-thread nanoseconds in each part of a training step: announcing batches ahead, lookups, updates. */
    public final LongAdder prefetchNanos = new LongAdder();
    public final LongAdder lookupNanos = new LongAdder();
    public final LongAdder updateNanos = new LongAdder();

    /** Hot ids over all ids served; NaN before any lookup. */
    public double hitRate() {
        long hot = hotIds.sum();
        long all = hot + coldIds.sum();
        return all == 0 ? Double.NaN : (double) hot / all;
    }

    /** Share of trained samples in all-hot batches; NaN before any. */
    public double hotSampleFraction() {
        long n = samples.sum();
        return n == 0 ? Double.NaN : (double) hotSamples.sum() / n;
    }
}
