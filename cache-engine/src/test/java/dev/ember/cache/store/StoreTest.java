package dev.ember.cache.store;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.CapacityExceededException;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.ChildJvm;
import dev.ember.cache.testing.HoldStore;
import dev.ember.cache.testing.StoreDigest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StoreTest {
    private static final TableSpec A = new TableSpec("a", 5000, 8, Optimizer.ROWWISE_ADAGRAD);
    private static final TableSpec B = new TableSpec("b", 800, 4, Optimizer.SGD);

    @TempDir
    Path dir;

    private static StoreConfig config(long expectedA) {
        return StoreConfig.builder().seed(7).table(A, expectedA).table(B).headroom(1.0).jmx(false).build();
    }

    /** Applies a one-hot batch of {@code ids} with gradient {@code g} on every column. */
    private static void apply(ColdTable t, long[] ids, float g) {
        PooledBatch batch = new PooledBatch(ids.length, ids.length).setOneHot(ids, ids.length);
        DedupedIds d = new DedupedIds().build(batch);
        ByteBuffer grads = ByteBuffer.allocateDirect(ids.length * t.spec().dim() * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < ids.length * t.spec().dim(); i++) {
            grads.putFloat(4 * i, g + i % 7);
        }
        t.apply(d, grads, 0.1f, 1e-8f);
    }

    private static long[] range(long from, int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = from + i;
        }
        return ids;
    }

    @Test
    void manifestKeepsStepRngStateAndBlobsAcrossReopen() {
        try (Store s = Store.create(dir, config(1000))) {
            apply(s.table("a"), range(0, 100), 0.5f);
            s.checkpoint(42, new long[] {1, 2, 3}, Map.of("mlp", new byte[] {9, 8, 7}));
        }
        try (Store s = Store.open(dir, StoreConfig.existing())) {
            assertEquals(42, s.lastCheckpoint().step());
            assertArrayEquals(new long[] {1, 2, 3}, s.lastCheckpoint().rngState());
            assertArrayEquals(new byte[] {9, 8, 7}, s.lastCheckpoint().blobs().get("mlp"));
            assertEquals(7, s.lastCheckpoint().seed());
            assertEquals(100, s.table("a").rowsStored());
        }
    }

    @Test
    void specMismatchIsRefusedNamingTheTable() {
        Store.create(dir, config(1000)).close();
        StoreConfig other = StoreConfig.builder().table(new TableSpec("a", 5000, 16, Optimizer.ROWWISE_ADAGRAD)).table(B).build();
        StoreException e = assertThrows(StoreException.class, () -> Store.open(dir, other));
        assertTrue(e.getMessage().contains("dim=16") && e.getMessage().contains("table 0"), e.getMessage());
        StoreException fewer = assertThrows(StoreException.class,
                () -> Store.open(dir, StoreConfig.builder().table(A).build()));
        assertTrue(fewer.getMessage().contains("has 2 tables"), fewer.getMessage());
        // The refused opens released the lock: a matching config opens.
        Store.open(dir, config(1000)).close();
    }

    @Test
    void overflowIsRefusedBeforeAnyChangeAndTheFileNeverGrows() throws Exception {
        try (Store s = Store.create(dir, config(300))) {
            ColdTable a = s.table("a");
            long fileBytes = Files.size(dir.resolve("a.cm"));
            apply(a, range(0, 250), 1f);
            long before = StoreDigest.of(s);
            // 40 stored ids and 60 new ones: 250 + 60 > 300.
            CapacityExceededException e = assertThrows(CapacityExceededException.class,
                    () -> apply(a, range(210, 100), 2f));
            assertTrue(e.getMessage().contains("table a") && e.getMessage().contains("ember store grow"), e.getMessage());
            assertEquals(before, StoreDigest.of(s), "a refused apply changed data");
            assertEquals(250, a.rowsStored());
            assertEquals(50, a.headroom());
            apply(a, range(200, 100), 3f); // exactly to capacity
            assertEquals(0, a.headroom());
            assertEquals(fileBytes, Files.size(dir.resolve("a.cm")), "the map file grew past its preallocation");
            s.checkpoint(1, new long[0], Map.of());
        }
    }

    @Test
    void rowsAPreparedPutWillInsertCountAgainstTheCapacityUntilTheyAreInserted() {
        try (Store s = Store.create(dir, config(300))) {
            ColdTable a = s.table("a");
            apply(a, range(0, 200), 1f);
            long[] ids = range(150, 120); // 50 stored, 70 new
            assertEquals(70, a.preparePut(ids, ids.length));
            long before = StoreDigest.of(s);
            // 200 stored + 70 pending + 31 new > 300, though the map itself holds only 200 rows yet.
            CapacityExceededException e = assertThrows(CapacityExceededException.class, () -> apply(a, range(270, 31), 2f));
            assertTrue(e.getMessage().contains("table a"), e.getMessage());
            assertThrows(CapacityExceededException.class, () -> a.preparePut(range(270, 31), 31));
            assertEquals(before, StoreDigest.of(s), "a refused write changed data");
            ByteBuffer rows = ByteBuffer.allocateDirect(ids.length * a.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            ColdTable.Writer first = a.newWriter();
            ColdTable.Writer second = a.newWriter();
            try {
                second.put(ids, 60, 120, rows); // rows 210..269: 60 new
                assertEquals(260, a.rowsStored());
                assertThrows(CapacityExceededException.class, () -> apply(a, range(270, 31), 2f), "still 10 pending");
                first.put(ids, 0, 60, rows); // 50 stored, 10 new
            } finally {
                first.release();
                second.release();
            }
            assertEquals(270, a.rowsStored());
            apply(a, range(270, 30), 3f); // exactly to capacity
            assertThrows(CapacityExceededException.class, () -> a.preparePut(range(300, 1), 1));
        }
    }

    @Test
    void mapFilesAreFullyAllocatedOnDiskAtCreation() throws Exception {
        Store.create(dir, config(100_000)).close();
        for (String table : List.of("a.cm", "b.cm")) {
            Path file = dir.resolve(table);
            // st_blocks (512-byte units) counts what the file system really allocated: a sparse file
            // has fewer blocks than its size, and writing through a hole on a full disk is a SIGBUS.
            Process stat = new ProcessBuilder("stat", "-c", "%b %B %s", file.toString()).start();
            String[] f = new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split(" ");
            assertEquals(0, stat.waitFor());
            long allocated = Long.parseLong(f[0]) * Long.parseLong(f[1]);
            long size = Long.parseLong(f[2]);
            assertTrue(allocated >= size, table + ": " + allocated + " bytes allocated for a " + size + "-byte file");
        }
    }

    @Test
    void growKeepsEveryRowAndRaisesCapacity() {
        long digest;
        try (Store s = Store.create(dir, config(200))) {
            SplittableRandom rnd = new SplittableRandom(5);
            long[] ids = rnd.longs(180, 0, A.rows()).distinct().toArray();
            apply(s.table("a"), ids, 1.5f);
            apply(s.table("b"), range(0, 50), 0.25f);
            s.checkpoint(3, new long[] {11}, Map.of());
            digest = StoreDigest.of(s);
        }
        Store.grow(dir, "a", 1000);
        assertTrue(Files.notExists(dir.resolve("a.cm.grow")));
        try (Store s = Store.open(dir, StoreConfig.existing())) {
            assertEquals(digest, StoreDigest.of(s), "grow lost or changed a row");
            assertEquals(1000, s.table("a").capacity());
            assertEquals(1000, s.lastCheckpoint().table("a").capacity());
            assertEquals(3, s.lastCheckpoint().step());
            apply(s.table("a"), range(1000, 700), 1f); // would not have fit before
            assertTrue(s.table("a").rowsStored() > 800);
        }
        StoreException shrink = assertThrows(StoreException.class, () -> Store.grow(dir, "a", 500));
        assertTrue(shrink.getMessage().contains("must exceed"), shrink.getMessage());
    }

    @Test
    void manifestDamageIsRefusedNamingTheFile() throws Exception {
        Store.create(dir, config(100)).close();
        Path manifest = dir.resolve(Store.MANIFEST);
        byte[] bytes = Files.readAllBytes(manifest);
        bytes[20] ^= 1;
        Files.write(manifest, bytes);
        StoreException e = assertThrows(StoreException.class, () -> Store.open(dir, StoreConfig.existing()));
        assertTrue(e.getMessage().contains(manifest.toString()) && e.getMessage().contains("checksum"), e.getMessage());
    }

    /**
     * Seeded damage to a closed store holding updates past its checkpoint (so its undo log has
     * records): each of the manifest, the undo log and the map files truncated at a drawn length or
     * with drawn bytes flipped. Every open either refuses naming the damaged file or gives exactly
     * the checkpoint (damage where nothing lives); none loads half a state.
     */
    @Test
    void truncatedOrFlippedFilesAreRefusedNamingTheFileOrChangeNothing() throws Exception {
        Path pristine = dir.resolve("pristine");
        long want;
        try (Store s = Store.create(pristine, config(3000))) {
            apply(s.table("a"), range(0, 500), 1f);
            apply(s.table("b"), range(100, 300), 2f);
            s.checkpoint(1, new long[] {1}, Map.of("w", new byte[] {1, 2, 3}));
            want = dev.ember.cache.testing.StoreDigest.of(s);
            apply(s.table("a"), range(250, 800), 3f);
            apply(s.table("b"), range(0, 200), 4f);
        }
        assertTrue(Files.size(pristine.resolve(Store.UNDO_LOG)) > 10_000, "the undo log holds pre-images");
        String[] files = {Store.MANIFEST, Store.UNDO_LOG, "a.cm", "b.cm"};
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(31);
        int refused = 0;
        int harmless = 0;
        for (int trial = 0; trial < 48; trial++) {
            Path d = dir.resolve("trial" + trial);
            Files.createDirectories(d);
            try (var list = Files.list(pristine)) {
                for (Path f : list.toList()) {
                    Files.copy(f, d.resolve(f.getFileName()));
                }
            }
            Path damaged = d.resolve(files[trial % files.length]);
            byte[] bytes = Files.readAllBytes(damaged);
            String what;
            if (trial % 8 < 4) {
                int len = rnd.nextInt(bytes.length);
                Files.write(damaged, java.util.Arrays.copyOf(bytes, len));
                what = "truncated to " + len + " of " + bytes.length + " bytes";
            } else {
                int at = rnd.nextInt(bytes.length);
                bytes[at] ^= (byte) (1 + rnd.nextInt(255));
                Files.write(damaged, bytes);
                what = "byte " + at + " of " + bytes.length + " flipped";
            }
            try (Store s = Store.open(d, StoreConfig.existing())) {
                assertEquals(1, s.lastCheckpoint().step(), damaged + " " + what + ": opened at another checkpoint");
                assertEquals(want, dev.ember.cache.testing.StoreDigest.of(s), damaged + " " + what + ": opened with other rows");
                harmless++;
            } catch (StoreException e) {
                assertTrue(e.getMessage().contains(damaged.toString()), damaged + " " + what + ": the error names the file: "
                        + e.getMessage());
                refused++;
            }
        }
        System.out.println("damaged stores: " + refused + " refused naming the file, " + harmless + " harmless");
    }

    @Test
    void aMissingTableFileOrAForeignUndoLogIsRefusedNamingTheFile() throws Exception {
        try (Store s = Store.create(dir, config(100))) {
            s.checkpoint(1, new long[0], Map.of());
        }
        Path undo = dir.resolve(Store.UNDO_LOG);
        byte[] log = Files.readAllBytes(undo);
        // An undo log from a later checkpoint than the manifest: not this store's history.
        java.nio.ByteBuffer.wrap(log).order(ByteOrder.LITTLE_ENDIAN).putLong(8, 9);
        Files.write(undo, log);
        StoreException foreign = assertThrows(StoreException.class, () -> Store.open(dir, StoreConfig.existing()));
        assertTrue(foreign.getMessage().contains(undo.toString()) && foreign.getMessage().contains("cannot be restored"),
                foreign.getMessage());
        Files.delete(undo);
        Files.delete(dir.resolve("b.cm"));
        StoreException missing = assertThrows(StoreException.class, () -> Store.open(dir, StoreConfig.existing()));
        assertTrue(missing.getMessage().contains(dir.resolve("b.cm").toString()), missing.getMessage());
    }

    @Test
    void aStoreWrittenWithoutUndoLogAndNotCheckpointedIsRefused() {
        StoreConfig noUndo = StoreConfig.builder().seed(7).table(A, 1000).table(B).undoLog(false).jmx(false).build();
        try (Store s = Store.create(dir, noUndo)) {
            apply(s.table("a"), range(0, 10), 1f);
        }
        StoreException e = assertThrows(StoreException.class, () -> Store.open(dir, StoreConfig.existing()));
        assertTrue(e.getMessage().contains("undoLog(false)"), e.getMessage());
    }

    @Test
    void aSecondWriterProcessIsRefusedWithTheHoldersPid() throws Exception {
        Store.create(dir, config(100)).close();
        Process child = ChildJvm.start(HoldStore.class, "hold", dir.toString());
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("HELD ")) {
                // Chronicle's start-up chatter
            }
            assertTrue(line != null, "child never opened the store");
            String pid = line.substring(5).trim();
            assertEquals(Long.toString(child.pid()), pid);
            StoreException e = assertThrows(StoreException.class, () -> Store.open(dir, StoreConfig.existing()));
            assertTrue(e.getMessage().contains("pid " + pid), e.getMessage());
            child.getOutputStream().close();
            assertTrue(child.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, child.exitValue());
        } finally {
            child.destroyForcibly();
        }
        // And the other way round: this process holds it, the child is refused.
        try (Store s = Store.open(dir, StoreConfig.existing())) {
            Process other = ChildJvm.start(HoldStore.class, "try", dir.toString());
            String all = new String(other.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(other.waitFor(60, TimeUnit.SECONDS));
            assertEquals(3, other.exitValue(), all);
            assertTrue(all.contains("REFUSED") && all.contains("pid " + ProcessHandle.current().pid()), all);
        }
    }

    @Test
    void openingADirectoryThatIsNotAStoreSaysSoAndLeavesNothingBehind() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        StoreException e = assertThrows(StoreException.class, () -> Store.open(empty, StoreConfig.existing()));
        assertTrue(e.getMessage().contains("is not an Ember store"), e.getMessage());
        try (var files = Files.list(empty)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void createRefusesAnExistingStore() {
        Store.create(dir, config(100)).close();
        StoreException e = assertThrows(StoreException.class, () -> Store.create(dir, config(100)));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals(List.of("a", "b"), Store.readManifest(dir).tables().stream().map(t -> t.spec().name()).toList());
    }
}
