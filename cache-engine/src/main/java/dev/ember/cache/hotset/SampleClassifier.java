package dev.ember.cache.hotset;

import dev.ember.cache.batch.PooledBatch;

/**
 * FAE's split of a batch: sample (bag index) {@code b} is hot iff every id of bag {@code b} of
 * every table is hot in the given generation. The result is a bit set, one bit per sample, in a
 * caller-owned {@code long[]}, so classifying allocates nothing.
 *
 * <pre>
 *  hot: | word 0: samples 0..63 | word 1: samples 64..127 | ...   bit b set = sample b hot
 * </pre>
 */
public final class SampleClassifier {
    private SampleClassifier() {
    }

    /** Words needed for {@code samples} bits. */
    public static int words(int samples) {
        return (samples + 63) >>> 6;
    }

    /**
     * Writes the hot bits of the batch's samples into {@code hot} and returns how many are hot.
     * Every table's batch must have the same number of bags (samples).
     */
    public static int classify(HotSet generation, PooledBatch[] perTable, long[] hot) {
        if (perTable.length != generation.tableCount()) {
            throw new IllegalArgumentException("batch has " + perTable.length + " tables, the hot set has " + generation.tableCount());
        }
        int samples = perTable.length == 0 ? 0 : perTable[0].bagCount();
        int words = words(samples);
        if (hot.length < words) {
            throw new IllegalArgumentException("hot bit set has " + hot.length + " words, " + samples + " samples need " + words);
        }
        for (int w = 0; w < words; w++) {
            hot[w] = -1L;
        }
        if ((samples & 63) != 0) {
            hot[words - 1] = (1L << (samples & 63)) - 1;
        }
        for (int t = 0; t < perTable.length; t++) {
            PooledBatch batch = perTable[t];
            if (batch.bagCount() != samples) {
                throw new IllegalArgumentException("table " + generation.tables().get(t).name() + " has "
                        + batch.bagCount() + " bags, table " + generation.tables().get(0).name() + " has " + samples);
            }
            int[] offsets = batch.offsets();
            long[] ids = batch.ids();
            for (int b = 0; b < samples; b++) {
                if ((hot[b >>> 6] & (1L << b)) == 0) {
                    continue;
                }
                for (int i = offsets[b], end = offsets[b + 1]; i < end; i++) {
                    if (!generation.contains(t, ids[i])) {
                        hot[b >>> 6] &= ~(1L << b);
                        break;
                    }
                }
            }
        }
        int count = 0;
        for (int w = 0; w < words; w++) {
            count += Long.bitCount(hot[w]);
        }
        return count;
    }
}
