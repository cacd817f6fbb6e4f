package dev.ember.cache.cold;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.openhft.chronicle.core.Jvm;
import net.openhft.chronicle.core.values.LongValue;
import net.openhft.chronicle.hash.ChecksumEntry;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ExternalMapQueryContext;
import net.openhft.chronicle.map.MapEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rows written in place read back through Chronicle with checksums Chronicle accepts, including
 * after a recovery; a gap that does not reproduce Chronicle's checksum leaves in-place writes off.
 */
class InPlaceRowsTest {
    private static final int ROW_BYTES = 48;

    @TempDir
    Path dir;

    @Test
    void rowsWrittenInPlaceKeepChronicleChecksumsThroughARecovery() throws Exception {
        File file = dir.resolve("t.cm3").toFile();
        SplittableRandom rnd = new SplittableRandom(5);
        long[] ids = rnd.longs(500, 0, 1_000_000).distinct().toArray();
        ByteBuffer src = ByteBuffer.allocateDirect(ROW_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        byte[][] want = new byte[ids.length][ROW_BYTES];
        try (ChronicleMap<LongValue, byte[]> map = MapFiles.create(file, "t", 1000, ROW_BYTES)) {
            RowKey key = new RowKey();
            InPlaceRows rows = new InPlaceRows(ROW_BYTES);
            long[] at = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                long gap;
                try (ExternalMapQueryContext<LongValue, byte[], ?> c = map.queryContext(key.of(ids[i]))) {
                    c.updateLock().lock();
                    c.absentEntry().doInsert(c.wrapValueAsData(new byte[ROW_BYTES]));
                    MapEntry<LongValue, byte[]> e = c.entry();
                    at[i] = e.value().bytes().addressForRead(e.value().offset());
                    gap = InPlaceRows.gapOf(e);
                }
                rows.learn(ids[i], at[i], gap);
            }
            assertTrue(rows.on(), "the checksum computed here is Chronicle's");
            for (int i = 0; i < ids.length; i++) {
                rnd.nextBytes(want[i]);
                src.clear();
                src.put(want[i]);
                rows.write(ids[i], at[i], Jvm.address(src));
            }
            assertChecksumsHold(map, "t");
            key.release();
        }
        List<String> corruptions = new ArrayList<>();
        try (ChronicleMap<LongValue, byte[]> map = MapFiles.open(file, "t", 1000, ROW_BYTES, true, corruptions)) {
            assertTrue(corruptions.isEmpty(), "recovery found " + corruptions);
            assertChecksumsHold(map, "t");
            LongValue k = net.openhft.chronicle.values.Values.newHeapInstance(LongValue.class);
            for (int i = 0; i < ids.length; i++) {
                k.setValue(ids[i]);
                assertArrayEquals(want[i], map.get(k), "row " + ids[i]);
            }
        }
    }

    @Test
    void aChecksumThatDoesNotMatchLeavesInPlaceWritesOff() throws Exception {
        try (ChronicleMap<LongValue, byte[]> map = MapFiles.create(dir.resolve("t.cm3").toFile(), "t", 100, ROW_BYTES)) {
            RowKey key = new RowKey();
            InPlaceRows rows = new InPlaceRows(ROW_BYTES);
            long at;
            long gap;
            try (ExternalMapQueryContext<LongValue, byte[], ?> c = map.queryContext(key.of(7))) {
                c.updateLock().lock();
                c.absentEntry().doInsert(c.wrapValueAsData(new byte[ROW_BYTES]));
                MapEntry<LongValue, byte[]> e = c.entry();
                at = e.value().bytes().addressForRead(e.value().offset());
                gap = InPlaceRows.gapOf(e);
            }
            rows.learn(7, at, gap + 1);
            assertFalse(rows.on());
            assertFalse(rows.learning(), "learned once");
            rows.learn(7, at, gap);
            assertFalse(rows.on(), "the first entry decides");
            key.release();
        }
    }

    /** Chronicle's own check of every entry's checksum in {@code map} (named {@code name} in the failure). */
    static void assertChecksumsHold(ChronicleMap<LongValue, byte[]> map, String name) {
        java.util.concurrent.atomic.AtomicLong bad = new java.util.concurrent.atomic.AtomicLong();
        map.forEachEntry(e -> {
            if (!((ChecksumEntry) e).checkSum()) {
                bad.incrementAndGet();
            }
        });
        assertEquals(0, bad.get(), name + ": entries whose checksum does not match");
    }
}
