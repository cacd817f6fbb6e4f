package dev.ember.cache.store;

import net.openhft.chronicle.core.values.LongValue;
import net.openhft.chronicle.hash.Data;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ExternalMapQueryContext;
import net.openhft.chronicle.map.MapEntry;
import net.openhft.chronicle.values.Values;

/** Whole-table copies for {@code grow} (offline: allocation here is fine). */
final class MapCopy {
    static {
        dev.ember.cache.cold.NoCallsOut.ensure();
    }

    private MapCopy() {
    }

    /** Copies every entry of {@code from} into the empty {@code to}; returns how many. */
    static long copy(ChronicleMap<LongValue, byte[]> from, ChronicleMap<LongValue, byte[]> to) {
        LongValue key = Values.newHeapInstance(LongValue.class);
        long[] n = {0};
        from.forEachEntry(e -> {
            key.setValue(e.key().get().getValue());
            byte[] value = e.value().get();
            to.put(key, value);
            n[0]++;
        });
        return n[0];
    }

    /** Checks every entry of {@code from} is in {@code to} with the same bytes. */
    static void verify(ChronicleMap<LongValue, byte[]> from, ChronicleMap<LongValue, byte[]> to, String table) {
        LongValue key = Values.newHeapInstance(LongValue.class);
        from.forEachEntry(e -> {
            long id = e.key().get().getValue();
            key.setValue(id);
            Data<byte[]> want = e.value();
            try (ExternalMapQueryContext<LongValue, byte[], ?> c = to.queryContext(key)) {
                MapEntry<LongValue, byte[]> got = c.entry();
                if (got == null || !Data.bytesEquivalent(want, got.value())) {
                    throw new StoreException("table " + table + ": row " + id + " differs in the grown copy; the table is unchanged");
                }
            }
        });
    }

}
