package dev.ember.cache.hotset;

/**
 * How many in-flight batches use each (table, row): an open-addressing table of primitive
 * longs with linear probing and backward-shift deletion, so pinning and releasing allocate
 * nothing once the table has grown to the largest number of pinned rows.
 *
 * <pre>
 *  keys:   | (table << 32 | row) or EMPTY | ...   (power of two, at most half full)
 *  counts: | occurrences pinned           | ...
 * </pre>
 */
final class PinCounts {
    private static final long EMPTY = -1L;

    private long[] keys;
    private int[] counts;
    private int size;

    PinCounts(int expectedRows) {
        int cap = Integer.highestOneBit(Math.max(16, expectedRows * 2) - 1) << 1;
        keys = new long[cap];
        counts = new int[cap];
        java.util.Arrays.fill(keys, EMPTY);
    }

    static long key(int table, long row) {
        return ((long) table << 32) | row;
    }

    void increment(long key) {
        if (2 * (size + 1) > keys.length) {
            grow();
        }
        int mask = keys.length - 1;
        int slot = slot(key, mask);
        while (true) {
            long k = keys[slot];
            if (k == key) {
                counts[slot]++;
                return;
            }
            if (k == EMPTY) {
                keys[slot] = key;
                counts[slot] = 1;
                size++;
                return;
            }
            slot = (slot + 1) & mask;
        }
    }

    void decrement(long key) {
        int mask = keys.length - 1;
        int slot = slot(key, mask);
        while (true) {
            long k = keys[slot];
            if (k == EMPTY) {
                throw new IllegalStateException("releasing a row that is not pinned: table " + (key >>> 32)
                        + " row " + (key & 0xFFFFFFFFL) + " (release each pinned batch once, unchanged)");
            }
            if (k == key) {
                if (--counts[slot] == 0) {
                    remove(slot, mask);
                }
                return;
            }
            slot = (slot + 1) & mask;
        }
    }

    boolean contains(long key) {
        int mask = keys.length - 1;
        int slot = slot(key, mask);
        while (true) {
            long k = keys[slot];
            if (k == key) {
                return true;
            }
            if (k == EMPTY) {
                return false;
            }
            slot = (slot + 1) & mask;
        }
    }

    int size() {
        return size;
    }

    private void remove(int slot, int mask) {
        // Backward shift: pull later entries of the probe run into the hole so lookups never stop early.
        int hole = slot;
        int next = (hole + 1) & mask;
        while (keys[next] != EMPTY) {
            int home = slot(keys[next], mask);
            boolean movable = hole <= next ? (home <= hole || home > next) : (home <= hole && home > next);
            if (movable) {
                keys[hole] = keys[next];
                counts[hole] = counts[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        keys[hole] = EMPTY;
        counts[hole] = 0;
        size--;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldCounts = counts;
        keys = new long[oldKeys.length * 2];
        counts = new int[oldKeys.length * 2];
        java.util.Arrays.fill(keys, EMPTY);
        int mask = keys.length - 1;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                int slot = slot(oldKeys[i], mask);
                while (keys[slot] != EMPTY) {
                    slot = (slot + 1) & mask;
                }
                keys[slot] = oldKeys[i];
                counts[slot] = oldCounts[i];
            }
        }
    }

    private static int slot(long key, int mask) {
        long z = (key ^ (key >>> 33)) * 0xFF51AFD7ED558CCDL;
        return (int) (z ^ (z >>> 33)) & mask;
    }
}
