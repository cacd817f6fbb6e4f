package dev.ember.cache.testing;

import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.store.Store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** A digest of a store's full state: every row of every table (stored or initial) and the row counts. */
public final class StoreDigest {
    private StoreDigest() {
    }

    public static long of(Store store) {
        return of(store, -1, 0, null, 0);
    }

    /**
     * The digest of the store's state with rows {@code [firstRow, firstRow + count)} of table
     * {@code table} replaced by {@code rows} (packed): what a checkpoint that dumps them holds.
     */
    public static long of(Store store, int table, long firstRow, ByteBuffer rows, int count) {
        long h = 0x1234567;
        for (ColdTable t : store.tables()) {
            int chunk = 1024;
            long[] ids = new long[chunk];
            ByteBuffer out = ByteBuffer.allocateDirect(chunk * t.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            for (long start = 0; start < t.spec().rows(); start += chunk) {
                int n = (int) Math.min(chunk, t.spec().rows() - start);
                for (int i = 0; i < n; i++) {
                    ids[i] = start + i;
                }
                t.gather(ids, n, out);
                if (t.index() == table) {
                    for (int i = 0; i < n; i++) {
                        if (ids[i] >= firstRow && ids[i] < firstRow + count) {
                            out.put(i * t.bytesPerRow(), rows, (int) (ids[i] - firstRow) * t.bytesPerRow(), t.bytesPerRow());
                        }
                    }
                }
                for (int i = 0; i < n * t.bytesPerRow(); i += 4) {
                    h = mix(h ^ out.getInt(i));
                }
            }
            h = mix(h ^ t.rowsStored());
        }
        return h;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31) + 0x9E3779B97F4A7C15L;
    }
}
