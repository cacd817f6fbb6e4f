package dev.ember.cache.hotset;

import dev.ember.cache.batch.PooledBatch;
import java.util.stream.IntStream;

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
        int words = check(generation, perTable, hot);
        classifyWords(generation, perTable, hot, 0, words);
        return count(hot, words);
    }

    /**
     * {@link #classify} with the samples split in ranges of {@value #PARALLEL_WORDS} words
     * classified on the common fork-join pool (an FAE window: tens of thousands of samples times
     * every table); the bits are the same as {@link #classify}'s.
     */
    public static int classifyInParallel(HotSet generation, PooledBatch[] perTable, long[] hot) {
        int words = check(generation, perTable, hot);
        int ranges = (words + PARALLEL_WORDS - 1) / PARALLEL_WORDS;
        IntStream.range(0, ranges).parallel().forEach(r -> classifyWords(generation, perTable, hot,
                r * PARALLEL_WORDS, Math.min(words, (r + 1) * PARALLEL_WORDS)));
        return count(hot, words);
    }

    /** Words of hot bits (64 samples each) one task of {@link #classifyInParallel} classifies. */
    static final int PARALLEL_WORDS = 64;

    private static int check(HotSet generation, PooledBatch[] perTable, long[] hot) {
        if (perTable.length != generation.tableCount()) {
            throw new IllegalArgumentException("batch has " + perTable.length + " tables, the hot set has " + generation.tableCount());
        }
        int samples = perTable.length == 0 ? 0 : perTable[0].bagCount();
        int words = words(samples);
        if (hot.length < words) {
            throw new IllegalArgumentException("hot bit set has " + hot.length + " words, " + samples + " samples need " + words);
        }
        for (int t = 0; t < perTable.length; t++) {
            if (perTable[t].bagCount() != samples) {
                throw new IllegalArgumentException("table " + generation.tables().get(t).name() + " has "
                        + perTable[t].bagCount() + " bags, table " + generation.tables().get(0).name() + " has " + samples);
            }
        }
        return words;
    }

    /** Classifies the samples of words {@code [fromWord, toWord)}: each table in turn clears the bits of samples it finds cold. */
    private static void classifyWords(HotSet generation, PooledBatch[] perTable, long[] hot, int fromWord, int toWord) {
        int samples = perTable.length == 0 ? 0 : perTable[0].bagCount();
        for (int w = fromWord; w < toWord; w++) {
            hot[w] = -1L;
        }
        int end = Math.min(samples, toWord << 6);
        if ((end & 63) != 0 && toWord == words(samples)) {
            hot[toWord - 1] = (1L << (end & 63)) - 1;
        }
        for (int t = 0; t < perTable.length; t++) {
            int[] offsets = perTable[t].offsets();
            long[] ids = perTable[t].ids();
            for (int b = fromWord << 6; b < end; b++) {
                if ((hot[b >>> 6] & (1L << b)) == 0) {
                    continue;
                }
                for (int i = offsets[b], last = offsets[b + 1]; i < last; i++) {
                    if (!generation.contains(t, ids[i])) {
                        hot[b >>> 6] &= ~(1L << b);
                        break;
                    }
                }
            }
        }
    }

    private static int count(long[] hot, int words) {
        int count = 0;
        for (int w = 0; w < words; w++) {
            count += Long.bitCount(hot[w]);
        }
        return count;
    }
}
