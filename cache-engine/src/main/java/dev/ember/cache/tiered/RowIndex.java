package dev.ember.cache.tiered;

import java.util.Arrays;

/**
 * Row id to position, for the rows one batch fetched from the cold tier: open addressing over
 * primitive longs, rebuilt per batch. Forwarding looks up rows written by an earlier batch here.
 *
 * <p>Each build uses a table of twice its rows (a power of two) at the front of arrays grown only
 * when a batch is larger than every one before: a table sized to the largest batch ever (the
 * first batches, before rows are hot, miss nearly every id) would spread a few hundred rows over
 * megabytes, and every lookup would miss the CPU's caches.
 */
final class RowIndex {
    private static final long EMPTY = Long.MIN_VALUE;
    private long[] keys = new long[64];
    private int[] values = new int[64];
    private int mask = 31;

    RowIndex() {
        Arrays.fill(keys, EMPTY); // empty before the first build: every lookup misses
    }

    /** Indexes {@code rows[0..count)} (distinct) by position. */
    void build(long[] rows, int count) {
        int need = Integer.highestOneBit(Math.max(2 * count, 32) - 1) << 1;
        if (keys.length < need) {
            keys = new long[need];
            values = new int[need];
        }
        Arrays.fill(keys, 0, need, EMPTY);
        int mask = need - 1;
        this.mask = mask;
        for (int i = 0; i < count; i++) {
            int slot = slot(rows[i], mask);
            while (keys[slot] != EMPTY) {
                slot = (slot + 1) & mask;
            }
            keys[slot] = rows[i];
            values[slot] = i;
        }
    }

    /** The position of {@code row}, or -1. */
    int get(long row) {
        int mask = this.mask;
        int slot = slot(row, mask);
        while (true) {
            long k = keys[slot];
            if (k == row) {
                return values[slot];
            }
            if (k == EMPTY) {
                return -1;
            }
            slot = (slot + 1) & mask;
        }
    }

    private static int slot(long key, int mask) {
        long z = (key ^ (key >>> 33)) * 0xFF51AFD7ED558CCDL;
        return (int) (z ^ (z >>> 33)) & mask;
    }
}
