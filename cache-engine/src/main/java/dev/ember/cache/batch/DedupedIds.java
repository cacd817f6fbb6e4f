package dev.ember.cache.batch;

import java.util.Arrays;

/**
 * The deduplicated ids of a {@link PooledBatch}: each distinct id once, in order of first
 * occurrence, with the bags it occurs in, in ascending batch position. Every backend sums a row's
 * gradient in exactly this order, which is what makes them agree bit for bit.
 *
 * <pre>
 *  unique:   | u0        | u1  | u2    |            (uniqueCount)
 *  occStart: | 0         | 3   | 4     | 6          (uniqueCount + 1)
 *  occBag:   | b b b     | b   | b b   |            bag of each occurrence, ascending position
 * </pre>
 *
 * Built with an open-addressing table of primitive longs that is reused, so {@link #build}
 * allocates only when a batch is larger than every batch before it.
 */
public final class DedupedIds {
    private static final long EMPTY = Long.MIN_VALUE;

    private long[] unique = new long[16];
    private int[] occStart = new int[17];
    private int[] occBag = new int[16];
    private int uniqueCount;

    // Scratch: hash table id -> unique index; per-occurrence unique index; per-unique counts.
    private long[] keys = new long[32];
    private int[] values = new int[32];
    private int[] occUnique = new int[16];
    private int[] fill = new int[16];

    /** Deduplicates {@code batch}; returns this. */
    public DedupedIds build(PooledBatch batch) {
        int n = batch.idCount();
        ensure(n);
        Arrays.fill(keys, EMPTY);
        int mask = keys.length - 1;
        long[] ids = batch.ids();
        int count = 0;
        for (int i = 0; i < n; i++) {
            long id = ids[i];
            int slot = (int) mix(id) & mask;
            while (true) {
                long k = keys[slot];
                if (k == EMPTY) {
                    keys[slot] = id;
                    values[slot] = count;
                    unique[count] = id;
                    occUnique[i] = count++;
                    break;
                }
                if (k == id) {
                    occUnique[i] = values[slot];
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
        uniqueCount = count;
        // Counting sort of occurrences by unique index keeps ascending position within each id.
        Arrays.fill(occStart, 0, count + 1, 0);
        for (int i = 0; i < n; i++) {
            occStart[occUnique[i] + 1]++;
        }
        for (int u = 0; u < count; u++) {
            occStart[u + 1] += occStart[u];
        }
        System.arraycopy(occStart, 0, fill, 0, count);
        int[] offsets = batch.offsets();
        for (int b = 0, bags = batch.bagCount(); b < bags; b++) {
            for (int i = offsets[b]; i < offsets[b + 1]; i++) {
                occBag[fill[occUnique[i]]++] = b;
            }
        }
        return this;
    }

    /** The unique index of {@code id} in the last build, or -1 when the batch does not hold it. */
    public int indexOf(long id) {
        int mask = keys.length - 1;
        int slot = (int) mix(id) & mask;
        while (true) {
            long k = keys[slot];
            if (k == id) {
                return values[slot];
            }
            if (k == EMPTY) {
                return -1;
            }
            slot = (slot + 1) & mask;
        }
    }

    public int uniqueCount() {
        return uniqueCount;
    }

    /** Distinct ids, first-occurrence order; valid up to {@link #uniqueCount()}. */
    public long[] unique() {
        return unique;
    }

    /** Occurrence ranges: unique {@code u} occurs at {@code occBag[occStart[u] .. occStart[u+1])}. */
    public int[] occStart() {
        return occStart;
    }

    /**
     * The unique index of each id of the batch, by batch position: pooling sums a bag's rows in
     * bag order through this, whichever tier each row comes from.
     */
    public int[] uniqueOf() {
        return occUnique;
    }

    /** The bag of each occurrence, grouped by unique id, ascending batch position within a group. */
    public int[] occBag() {
        return occBag;
    }

    private void ensure(int n) {
        if (unique.length < n) {
            int cap = Integer.highestOneBit(Math.max(n, 16) - 1) << 1;
            unique = new long[cap];
            occStart = new int[cap + 1];
            occBag = new int[cap];
            occUnique = new int[cap];
            fill = new int[cap];
        }
        int table = Integer.highestOneBit(Math.max(2 * n, 32) - 1) << 1;
        if (keys.length < table) {
            keys = new long[table];
            values = new int[table];
        }
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        return z ^ (z >>> 33);
    }
}
