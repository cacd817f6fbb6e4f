package dev.ember.cache.cold;

import org.roaringbitmap.RoaringBitmap;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * A set of row ids as a Roaring bitmap: 32-bit (allocation-free lookups) when every id fits in an
 * unsigned int, else 64-bit (whose lookups allocate a small key array).
 */
final class RowSet {
    private final RoaringBitmap small;
    private final Roaring64Bitmap large;

    RowSet(long rows) {
        if (rows <= (1L << 32)) {
            small = new RoaringBitmap();
            large = null;
        } else {
            small = null;
            large = new Roaring64Bitmap();
        }
    }

    boolean contains(long id) {
        return small != null ? small.contains((int) id) : large.contains(id);
    }

    void add(long id) {
        if (small != null) {
            small.add((int) id);
        } else {
            large.addLong(id);
        }
    }

    long size() {
        return small != null ? small.getLongCardinality() : large.getLongCardinality();
    }

    void clear() {
        if (small != null) {
            small.clear();
        } else {
            large.clear();
        }
    }
}
