package dev.ember.cache.popularity;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.TableSpec;
import java.util.Iterator;
import java.util.List;

/**
 * FAE's profiling pass: before training, look at a random fraction of the training samples
 * (default 5%) and count how often each (table, row) occurs in them.
 *
 * <p>A sample is the bag with the same index in every table's {@link PooledBatch} of a batch.
 * Sample {@code i} of the input (counted from 0 across batches) is taken iff a 53-bit hash of
 * {@code (seed, i)} is below {@code rate * 2^53}: deterministic from the seed, independent of how
 * the input is cut into batches, and exactly all samples at rate 1.
 */
public final class SamplingProfiler {
    public static final double DEFAULT_RATE = 0.05;

    private final double rate;
    private final long seed;
    private final long threshold;

    public SamplingProfiler(double rate, long seed) {
        if (!(rate > 0 && rate <= 1)) {
            throw new IllegalArgumentException("profiling rate must be in (0, 1], got " + rate + " (FAE uses 0.05)");
        }
        this.rate = rate;
        this.seed = seed;
        this.threshold = rate == 1.0 ? Long.MAX_VALUE : (long) (rate * (double) (1L << 53));
    }

    public double rate() {
        return rate;
    }

    /** True if sample {@code index} of the input is in the profile. */
    public boolean sampled(long index) {
        return (mix(seed ^ mix(index + 0x9E3779B97F4A7C15L)) >>> 11) < threshold;
    }

    /**
     * Counts the sampled samples of {@code batches} ({@code batch[t]} holds table t's bags) into
     * fresh plain counters (decay 1).
     */
    public DecayingCounters profile(Iterator<PooledBatch[]> batches, List<TableSpec> tables) {
        DecayingCounters counts = new DecayingCounters(tables, 1.0);
        profileInto(batches, counts);
        return counts;
    }

    /** As {@link #profile} into existing counters; returns the number of samples taken. */
    public long profileInto(Iterator<PooledBatch[]> batches, DecayingCounters counts) {
        int tableCount = counts.tables().size();
        long index = 0;
        long taken = 0;
        while (batches.hasNext()) {
            PooledBatch[] batch = batches.next();
            if (batch.length != tableCount) {
                throw new IllegalArgumentException("batch has " + batch.length + " tables, the profile has " + tableCount);
            }
            int samples = batch[0].bagCount();
            for (int b = 0; b < samples; b++, index++) {
                if (!sampled(index)) {
                    continue;
                }
                taken++;
                for (int t = 0; t < tableCount; t++) {
                    PooledBatch tb = batch[t];
                    if (tb.bagCount() != samples) {
                        throw new IllegalArgumentException("table " + counts.tables().get(t).name() + " has " + tb.bagCount()
                                + " bags in a batch of " + samples + " samples");
                    }
                    int[] offsets = tb.offsets();
                    long[] ids = tb.ids();
                    for (int i = offsets[b]; i < offsets[b + 1]; i++) {
                        counts.record(t, ids[i]);
                    }
                }
            }
        }
        return taken;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
