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
