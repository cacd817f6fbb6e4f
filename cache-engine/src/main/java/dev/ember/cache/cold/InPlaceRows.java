package dev.ember.cache.cold;

import net.openhft.chronicle.algo.hashing.LongHashFunction;
import net.openhft.chronicle.bytes.RandomDataInput;
import net.openhft.chronicle.core.UnsafeMemory;
import net.openhft.chronicle.hash.Data;
import net.openhft.chronicle.hash.impl.stage.entry.ChecksumHashing;
import net.openhft.chronicle.map.MapEntry;

/**
 * Writes a stored row's value where it lies in the mapped file and seals the entry's checksum as
 * Chronicle Map computes it, without Chronicle's lookup and segment lock: a put of stored rows
 * cost 0.90-0.98 us of CPU a row through Chronicle and 0.44 us so ({@code ColdRowTrafficBench},
 * development box). A row not stored yet still takes Chronicle's insert.
 *
 * <p>An entry of the table's maps (constant key and value sizes, {@code checksumEntries} on):
 * <pre>
 *   ... | key (8 bytes, the row id) | gap | value (rowBytes) | checksum (int) | ...
 *                                   ^ keyEnd  ^ value address  ^ entryEnd
 *   checksum = fold32(hash8To16Bytes(8, xx_r39(key), xx_r39(bytes [keyEnd, entryEnd))))
 * </pre>
 * The gap (value-size marshalling and alignment, constant in such a map) is read from the first
 * entry a table meets, and in-place writes turn on only if the checksum computed here equals the
 * one Chronicle stored in that entry: a Chronicle whose format differs leaves every write on
 * Chronicle's path. Safe without the lock for the position index's reason ({@link ColdTable}: one
 * writer process, batch operations on a table never overlap, no reader of a row being written);
 * a crash mid-write leaves a torn entry, as Chronicle's own write would, and the undo log's
 * pre-image puts it back.
 */
final class InPlaceRows {
    private static final LongHashFunction XX = LongHashFunction.xx_r39();
    private static final int UNKNOWN = 0;
    private static final int ON = 1;
    private static final int OFF = 2;
    /** {@code -Dember.cold.inPlace=false}: every write through Chronicle (to compare). */
    static final boolean ALLOWED = !"false".equals(System.getProperty("ember.cold.inPlace"));

    private final int rowBytes;
    private volatile int state = ALLOWED ? UNKNOWN : OFF;
    /** Value address minus key end, once learned. */
    private volatile long gap;

    InPlaceRows(int rowBytes) {
        this.rowBytes = rowBytes;
    }

    /** Whether rows whose value address is known are written in place. */
    boolean on() {
        return state == ON;
    }

    /** Whether the first entry is still to be checked ({@link #learn}). */
    boolean learning() {
        return state == UNKNOWN;
    }

    /**
     * The gap of {@code e} (value address minus key end), read inside its query context; -1 if its
     * key or value is not in direct memory.
     */
    static long gapOf(MapEntry<?, byte[]> e) {
        Data<?> k = e.key();
        Data<byte[]> v = e.value();
        RandomDataInput kb = k.bytes();
        RandomDataInput vb = v.bytes();
        if (!kb.isDirectMemory() || !vb.isDirectMemory() || k.size() != Long.BYTES) {
            return -1;
        }
        return vb.addressForRead(v.offset()) - (kb.addressForRead(k.offset()) + Long.BYTES);
    }

    /**
     * Checks, once, the entry of row {@code id} at {@code valueAddress} (its gap {@code entryGap},
     * read by {@link #gapOf}) after its query context has closed (Chronicle stores a written entry's
     * checksum at the close): in-place writes turn on when Chronicle's stored checksum is the one
     * computed here.
     */
    synchronized void learn(long id, long valueAddress, long entryGap) {
        if (state != UNKNOWN) {
            return;
        }
        boolean agrees = entryGap >= 0 && valueAddress > 0
                && UnsafeMemory.MEMORY.readInt(valueAddress + rowBytes) == checksum(id, valueAddress, entryGap);
        gap = entryGap;
        state = agrees ? ON : OFF;
    }

    /** Copies {@code rowBytes} from {@code src} over row {@code id}'s value at {@code valueAddress}, then seals. */
    void write(long id, long valueAddress, long src) {
        UnsafeMemory.copyMemory(src, valueAddress, rowBytes);
        seal(id, valueAddress);
    }

    /** Stores the checksum of row {@code id}'s entry after its value at {@code valueAddress} was changed. */
    void seal(long id, long valueAddress) {
        UnsafeMemory.MEMORY.writeInt(valueAddress + rowBytes, checksum(id, valueAddress, gap));
    }

    private int checksum(long id, long valueAddress, long entryGap) {
        long payload = XX.hashMemory(valueAddress - entryGap, entryGap + rowBytes);
        long h = ChecksumHashing.hash8To16Bytes(Long.BYTES, XX.hashLong(id), payload);
        return (int) ((h >>> 32) ^ h);
    }
}
