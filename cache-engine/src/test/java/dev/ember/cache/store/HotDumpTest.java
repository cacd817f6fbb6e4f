package dev.ember.cache.store;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.durability.HotDump;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A checkpoint's hot dump against a plain reference (every row's bytes in a map): rows that live
 * only in the dump are in the tables after a reopen, dumps replace each other, a plain checkpoint
 * keeps a dump's rows, a damaged dump is refused naming it and changes nothing, a failed dump
 * leaves the previous checkpoint.
 */
class HotDumpTest {
    private static final TableSpec A = new TableSpec("a", 5000, 8, Optimizer.ROWWISE_ADAGRAD);
    private static final TableSpec B = new TableSpec("b", 800, 4, Optimizer.SGD);

    @TempDir
    Path dir;

    private static StoreConfig config() {
        return StoreConfig.builder().seed(7).tables(List.of(A, B)).jmx(false).build();
    }

    /** Rows a hot tier holds newer than the tables: per table, row -> bytes; dumped in blocks of drawn sizes. */
    private static final class Hot implements HotDump.Source {
        final List<TreeMap<Long, byte[]>> rows = List.of(new TreeMap<>(), new TreeMap<>());
        final SplittableRandom rnd;
        IOException failAfter;
        int blocksBeforeFailure = Integer.MAX_VALUE;

        Hot(long seed) {
            rnd = new SplittableRandom(seed);
        }

        /** Draws new values for {@code n} drawn rows of each table. */
        Hot change(Store s, int n) {
            for (int t = 0; t < 2; t++) {
                ColdTable table = s.tables().get(t);
                for (int i = 0; i < n; i++) {
                    byte[] b = new byte[table.bytesPerRow()];
                    for (int k = 0; k < b.length; k += 4) {
                        int bits = Float.floatToRawIntBits((float) rnd.nextGaussian());
                        b[k] = (byte) bits;
                        b[k + 1] = (byte) (bits >>> 8);
                        b[k + 2] = (byte) (bits >>> 16);
                        b[k + 3] = (byte) (bits >>> 24);
                    }
                    rows.get(t).put(rnd.nextLong(table.spec().rows()), b);
                }
            }
            return this;
        }

        @Override
        public void writeTo(HotDump.Writer out) throws IOException {
            int blocks = 0;
            for (int t = 0; t < 2; t++) {
                List<Map.Entry<Long, byte[]>> all = new ArrayList<>(rows.get(t).entrySet());
                for (int from = 0; from < all.size(); ) {
                    if (blocks++ == blocksBeforeFailure) {
                        throw failAfter;
                    }
                    int n = Math.min(all.size() - from, 1 + rnd.nextInt(300));
                    int rb = all.get(from).getValue().length;
                    long[] ids = new long[n];
                    ByteBuffer bytes = ByteBuffer.allocateDirect(n * rb).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < n; i++) {
                        ids[i] = all.get(from + i).getKey();
                        bytes.put(i * rb, all.get(from + i).getValue());
                    }
                    out.rows(t, ids, n, bytes);
                    from += n;
                }
            }
        }
    }

    private static void apply(ColdTable t, long[] ids, float g) {
        PooledBatch batch = new PooledBatch(ids.length, ids.length).setOneHot(ids, ids.length);
        DedupedIds d = new DedupedIds().build(batch);
        ByteBuffer grads = ByteBuffer.allocateDirect(ids.length * t.spec().dim() * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < ids.length * t.spec().dim(); i++) {
            grads.putFloat(4 * i, g + i % 7);
        }
        t.apply(d, grads, 0.1f, 1e-8f);
    }

    private static void applyDrawn(Store s, SplittableRandom rnd, float g) {
        for (ColdTable t : s.tables()) {
            long[] ids = rnd.longs(300, 0, t.spec().rows()).distinct().toArray();
            apply(t, ids, g);
        }
    }

    /** Every row of every table, as the tables hold it. */
    private static byte[][][] rows(Store s) {
        byte[][][] all = new byte[s.tables().size()][][];
        for (int t = 0; t < all.length; t++) {
            ColdTable table = s.tables().get(t);
            int n = (int) table.spec().rows();
            long[] ids = new long[n];
            for (int i = 0; i < n; i++) {
                ids[i] = i;
            }
            ByteBuffer out = ByteBuffer.allocateDirect(n * table.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            table.gather(ids, n, out);
            all[t] = new byte[n][table.bytesPerRow()];
            for (int i = 0; i < n; i++) {
                out.get(i * table.bytesPerRow(), all[t][i]);
            }
        }
        return all;
    }

    /** The tables' rows with the hot rows' newer values over them: what the checkpoint holds. */
    private static byte[][][] expected(Store s, Hot hot) {
        byte[][][] all = rows(s);
        for (int t = 0; t < all.length; t++) {
            for (Map.Entry<Long, byte[]> e : hot.rows.get(t).entrySet()) {
                all[t][(int) (long) e.getKey()] = e.getValue().clone();
            }
        }
        return all;
    }

    private static void assertRows(byte[][][] want, Store s, String what) {
        byte[][][] got = rows(s);
        for (int t = 0; t < want.length; t++) {
            for (int i = 0; i < want[t].length; i++) {
                assertArrayEquals(want[t][i], got[t][i], what + ": table " + t + " row " + i);
            }
        }
    }

    private static List<String> dumps(Path d) throws IOException {
        try (var files = Files.list(d)) {
            return files.map(f -> f.getFileName().toString()).filter(HotDump::isDumpName).sorted().toList();
        }
    }

    @Test
    void rowsOnlyInTheDumpAreInTheTablesAfterReopenAndTheDumpIsRetired() throws Exception {
        SplittableRandom rnd = new SplittableRandom(1);
        Hot hot = new Hot(2);
        byte[][][] want;
        try (Store s = Store.create(dir, config())) {
            applyDrawn(s, rnd, 1f);
            hot.change(s, 700);
            Manifest1 m = new Manifest1(s.checkpoint(5, new long[] {5}, Map.of("w", new byte[] {4}), hot));
            assertTrue(m.names(HotDump.fileName(1)), "the manifest names the dump");
            assertTrue(s.hasUnfoldedHotDump());
            assertEquals(List.of(HotDump.fileName(1)), dumps(dir));
            want = expected(s, hot);
            applyDrawn(s, rnd, 2f); // after the checkpoint: rolled back
        }
        try (Store s = Store.open(dir, config())) {
            assertEquals(5, s.lastCheckpoint().step());
            assertEquals(2, s.lastCheckpoint().epoch(), "reopening retired the dump with a checkpoint of the same state");
            assertArrayEquals(new long[] {5}, s.lastCheckpoint().rngState());
            assertArrayEquals(new byte[] {4}, s.lastCheckpoint().blobs().get("w"));
            assertNull(s.lastCheckpoint().blobs().get(Store.HOT_DUMP_BLOB));
            assertFalse(s.hasUnfoldedHotDump());
            assertEquals(List.of(), dumps(dir), "the dump is deleted once the tables hold its rows");
            assertRows(want, s, "after reopen");
        }
        try (Store s = Store.open(dir, config())) {
            assertRows(want, s, "after a second reopen");
        }
    }

    @Test
    void eachDumpReplacesTheLastAndAPlainCheckpointKeepsTheDumpsRows() throws Exception {
        SplittableRandom rnd = new SplittableRandom(3);
        Hot hot = new Hot(4);
        byte[][][] want;
        try (Store s = Store.create(dir, config())) {
            applyDrawn(s, rnd, 1f);
            s.checkpoint(1, new long[0], Map.of(), hot.change(s, 300));
            applyDrawn(s, rnd, 2f);
            s.checkpoint(2, new long[0], Map.of(), hot.change(s, 300)); // the hot tier keeps every dirty row
            assertEquals(List.of(HotDump.fileName(2)), dumps(dir), "the previous dump is deleted after the manifest");
            want = expected(s, hot);
            s.checkpoint(3, new long[0], Map.of());
            assertFalse(s.hasUnfoldedHotDump());
            assertEquals(List.of(), dumps(dir));
            assertRows(want, s, "a plain checkpoint after a dumped one");
        }
        try (Store s = Store.open(dir, config())) {
            assertEquals(3, s.lastCheckpoint().step());
            assertRows(want, s, "reopened after the plain checkpoint");
        }
    }

    /**
     * Seeded damage to the dump of a closed store (truncated, bytes flipped, bytes appended,
     * deleted): every open refuses naming the dump, and with the dump put back the store opens
     * with every value: a refused open loaded nothing.
     */
    @Test
    void aDamagedDumpIsRefusedNamingItAndChangesNothing() throws Exception {
        Path pristine = dir.resolve("pristine");
        SplittableRandom rnd = new SplittableRandom(5);
        Hot hot = new Hot(6);
        byte[][][] want;
        try (Store s = Store.create(pristine, config())) {
            applyDrawn(s, rnd, 1f);
            s.checkpoint(1, new long[] {1}, Map.of(), hot.change(s, 900));
            want = expected(s, hot);
            applyDrawn(s, rnd, 3f);
        }
        String dumpName = HotDump.fileName(1);
        byte[] good = Files.readAllBytes(pristine.resolve(dumpName));
        for (int trial = 0; trial < 8; trial++) {
            Path d = dir.resolve("trial" + trial);
            Files.createDirectories(d);
            try (var list = Files.list(pristine)) {
                for (Path f : list.toList()) {
                    Files.copy(f, d.resolve(f.getFileName()));
                }
            }
            Path dump = d.resolve(dumpName);
            byte[] bytes = good.clone();
            String what;
            switch (trial % 4) {
                case 0 -> {
                    int len = rnd.nextInt(bytes.length);
                    Files.write(dump, java.util.Arrays.copyOf(bytes, len));
                    what = "truncated to " + len + " of " + bytes.length + " bytes";
                }
                case 1 -> {
                    int at = rnd.nextInt(bytes.length);
                    bytes[at] ^= (byte) (1 + rnd.nextInt(255));
                    Files.write(dump, bytes);
                    what = "byte " + at + " flipped";
                }
                case 2 -> {
                    Files.write(dump, java.util.Arrays.copyOf(bytes, bytes.length + 1 + rnd.nextInt(100)));
                    what = "bytes appended";
                }
                default -> {
                    Files.delete(dump);
                    what = "deleted";
                }
            }
            StoreException e = assertThrows(StoreException.class, () -> Store.open(d, config()).close(), what);
            assertTrue(e.getMessage().contains(dump.toString()), what + ": the error names the dump: " + e.getMessage());
            Files.write(dump, good);
            try (Store s = Store.open(d, config())) {
                assertEquals(1, s.lastCheckpoint().step());
                assertRows(want, s, what + ", then the dump put back");
            }
        }
    }

    @Test
    void aDumpThatFailsLeavesThePreviousCheckpointAndAStrayDumpIsDeleted() throws Exception {
        SplittableRandom rnd = new SplittableRandom(7);
        Hot hot = new Hot(8);
        byte[][][] want;
        try (Store s = Store.create(dir, config())) {
            applyDrawn(s, rnd, 1f);
            s.checkpoint(1, new long[] {1}, Map.of(), hot.change(s, 400));
            want = expected(s, hot);
            applyDrawn(s, rnd, 2f);
            hot.change(s, 400);
            hot.failAfter = new IOException("device gone");
            hot.blocksBeforeFailure = 2;
            StoreException e = assertThrows(StoreException.class, () -> s.checkpoint(2, new long[] {2}, Map.of(), hot));
            assertTrue(e.getMessage().contains("device gone") && e.getMessage().contains("step 1"), e.getMessage());
            assertEquals(1, s.lastCheckpoint().step());
            assertEquals(List.of(HotDump.fileName(1)), dumps(dir), "the failed dump is deleted, the last one kept");
        }
        // What a kill in the middle of a dump leaves: a partial dump the manifest does not name.
        Files.write(dir.resolve(HotDump.fileName(2)), new byte[] {1, 2, 3});
        try (Store s = Store.open(dir, config())) {
            assertEquals(1, s.lastCheckpoint().step());
            assertEquals(List.of(), dumps(dir));
            assertRows(want, s, "after a failed dump");
        }
    }

    /** One call of more rows than a block holds is split into blocks, and every row comes back. */
    @Test
    void moreRowsThanABlockHoldsAreSplitAndAllComeBack() throws Exception {
        TableSpec wide = new TableSpec("wide", 100_000, 1, Optimizer.SGD);
        int n = HotDump.MAX_BLOCK_ROWS + 4_465;
        long[] ids = new long[n];
        ByteBuffer bytes = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            ids[i] = i * 7919L % wide.rows(); // distinct (7919 is prime to 100,000), not in order
            bytes.putFloat(4 * i, i * 0.5f + 1);
        }
        try (Store s = Store.create(dir, StoreConfig.builder().seed(2).table(wide).jmx(false).build())) {
            s.checkpoint(1, new long[0], Map.of(), out -> out.rows(0, ids, n, bytes));
        }
        try (Store s = Store.open(dir, StoreConfig.existing())) {
            ByteBuffer got = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.LITTLE_ENDIAN);
            s.tables().get(0).gather(ids, n, got);
            for (int i = 0; i < n; i++) {
                assertEquals(i * 0.5f + 1, got.getFloat(4 * i), "row " + ids[i]);
            }
            assertEquals(n, s.tables().get(0).rowsStored());
        }
    }

    @Test
    void theDumpBlobNameIsTheStores() {
        try (Store s = Store.create(dir, config())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> s.checkpoint(1, new long[0], Map.of(Store.HOT_DUMP_BLOB, new byte[1])));
            assertTrue(e.getMessage().contains(Store.HOT_DUMP_BLOB), e.getMessage());
        }
    }

    /** Reads the dump reference of a manifest. */
    private record Manifest1(dev.ember.cache.durability.Manifest m) {
        boolean names(String file) throws IOException {
            byte[] b = m.blobs().get(Store.HOT_DUMP_BLOB);
            return b != null && HotDump.Ref.fromBytes(b, "manifest").file().equals(file);
        }
    }
}
