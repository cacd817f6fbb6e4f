package dev.ember.cache.knob;

import net.openhft.chronicle.core.UnsafeMemory;

/**
 * A knob evaluation's scratch: {@code length} longs outside the Java heap, allocated for one
 * evaluation and freed at {@link #close}, so ranking millions of rows makes no garbage (before,
 * an evaluation's arrays were about 50 MB of heap each time, and the young collections they
 * caused stalled the steps for 3-8 ms on the H200 host). Not zero-filled; one thread at a time.
 *
 * <pre>
 *  address: | long 0 | long 1 | ... | long length-1 |   native byte order
 * </pre>
 */
final class OffHeapLongs implements AutoCloseable {
    private static final int DIGIT_BITS = 16;
    private static final int DIGITS = 1 << DIGIT_BITS;

    private final long address;
    private final long length;
    private boolean freed;

    private OffHeapLongs(long length) {
        if (length < 0) {
            throw new IllegalArgumentException("length must be >= 0, got " + length);
        }
        this.length = length;
        this.address = length == 0 ? 0 : UnsafeMemory.MEMORY.allocate(length * Long.BYTES);
    }

    static OffHeapLongs allocate(long length) {
        return new OffHeapLongs(length);
    }

    long length() {
        return length;
    }

    long get(long i) {
        return UnsafeMemory.MEMORY.readLong(address + (i << 3));
    }

    void set(long i, long v) {
        UnsafeMemory.MEMORY.writeLong(address + (i << 3), v);
    }

    /**
     * Rearranges {@code [0, n)} so that its {@code keep} smallest values (signed order) come first,
     * in no particular order (Hoare quickselect with a fixed pseudo-random pivot sequence).
     */
    void selectSmallest(int n, int keep) {
        if (keep >= n || keep <= 0) {
            return;
        }
        int lo = 0;
        int hi = n - 1;
        long seed = 0x2545F4914F6CDD1DL;
        while (lo < hi) {
            seed = seed * 6364136223846793005L + 1442695040888963407L;
            long pivot = get(lo + (int) Long.remainderUnsigned(seed >>> 1, hi - lo + 1));
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (get(i) < pivot) {
                    i++;
                }
                while (get(j) > pivot) {
                    j--;
                }
                if (i <= j) {
                    long tmp = get(i);
                    set(i, get(j));
                    set(j, tmp);
                    i++;
                    j--;
                }
            }
            // Now [lo..j] <= pivot <= [i..hi], and the values between j and i equal the pivot.
            if (keep - 1 <= j) {
                hi = j;
            } else if (keep - 1 >= i) {
                lo = i;
            } else {
                return;
            }
        }
    }

    /**
     * Sorts {@code [0, n)} ascending; every value must be in {@code [0, 2^bits)} (a least
     * significant digit radix sort, 16 bits a pass, through {@code tmp} of at least {@code n}).
     */
    void sort(int n, OffHeapLongs tmp, int bits) {
        if (tmp.length < n) {
            throw new IllegalArgumentException("scratch of " + tmp.length + " longs for " + n);
        }
        if (n <= 1) {
            return;
        }
        OffHeapLongs from = this;
        OffHeapLongs to = tmp;
        try (OffHeapLongs count = allocate(DIGITS)) { // off-heap too: an evaluation sorts twice a table
            for (int shift = 0; shift < bits; shift += DIGIT_BITS) {
                UnsafeMemory.MEMORY.setMemory(count.address, (long) DIGITS * Long.BYTES, (byte) 0);
                for (int i = 0; i < n; i++) {
                    long d = (from.get(i) >>> shift) & (DIGITS - 1);
                    count.set(d, count.get(d) + 1);
                }
                if (count.get((from.get(0) >>> shift) & (DIGITS - 1)) == n) {
                    continue; // every value has this digit: the pass would not move anything
                }
                long sum = 0;
                for (int d = 0; d < DIGITS; d++) {
                    long c = count.get(d);
                    count.set(d, sum);
                    sum += c;
                }
                for (int i = 0; i < n; i++) {
                    long v = from.get(i);
                    long d = (v >>> shift) & (DIGITS - 1);
                    long at = count.get(d);
                    count.set(d, at + 1);
                    to.set(at, v);
                }
                OffHeapLongs swap = from;
                from = to;
                to = swap;
            }
        }
        if (from != this) {
            UnsafeMemory.MEMORY.copyMemory(from.address, address, (long) n * Long.BYTES);
        }
    }

    @Override
    public void close() {
        if (!freed && address != 0) {
            UnsafeMemory.MEMORY.freeMemory(address, length * Long.BYTES);
        }
        freed = true;
    }
}
