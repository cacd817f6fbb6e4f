package dev.ember.cache.popularity;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A fixed-length array of doubles outside the Java heap, zero-filled, any length up to
 * {@code 2^31-1} elements: direct buffers of at most 2^27 doubles (1 GiB) each.
 *
 * <pre>
 *  index i -> segment i >>> 27, byte offset (i & (2^27 - 1)) * 8
 *  | segment 0: 2^27 doubles | segment 1 | ... | last segment: the rest |
 * </pre>
 */
final class OffHeapDoubles {
    private static final int SHIFT = 27;
    private static final long MASK = (1L << SHIFT) - 1;

    private final ByteBuffer[] segments;
    private final long length;

    OffHeapDoubles(long length) {
        this.length = length;
        int n = (int) ((length + MASK) >>> SHIFT);
        segments = new ByteBuffer[Math.max(1, n)];
        for (int s = 0; s < segments.length; s++) {
            long elems = Math.min(1L << SHIFT, length - ((long) s << SHIFT));
            segments[s] = ByteBuffer.allocateDirect((int) Math.max(0, elems) * Double.BYTES).order(ByteOrder.nativeOrder());
        }
    }

    long length() {
        return length;
    }

    double get(long i) {
        return segments[(int) (i >>> SHIFT)].getDouble((int) (i & MASK) << 3);
    }

    void set(long i, double v) {
        segments[(int) (i >>> SHIFT)].putDouble((int) (i & MASK) << 3, v);
    }
}
