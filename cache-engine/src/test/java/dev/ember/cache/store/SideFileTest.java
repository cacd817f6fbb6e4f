package dev.ember.cache.store;

import dev.ember.cache.durability.Blobs;
import dev.ember.cache.durability.HotDump;
import dev.ember.cache.durability.SideFile;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInput;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A checkpoint's side files against the bytes written (drawn, several MB): they come back after
 * a reopen, each checkpoint's replace the last's, a checkpoint without one retires it, a damaged
 * one is refused naming it before its reader sees a byte, a failed one leaves the previous
 * checkpoint, and strays are deleted at open.
 */
class SideFileTest {
    private static final TableSpec A = new TableSpec("a", 500, 4, Optimizer.SGD);

    @TempDir
    Path dir;

    private static StoreConfig config() {
        return StoreConfig.builder().seed(3).tables(List.of(A)).jmx(false).build();
    }

    private static long[] drawn(long seed, int n) {
        return new SplittableRandom(seed).longs(n).toArray();
    }

    /** Writes its longs with their count first; fails after {@code failAt} of them when set. */
    private static Blobs.Fields source(long[] values, int failAt) {
        return out -> {
            out.writeInt(values.length);
            for (int i = 0; i < values.length; i++) {
                if (i == failAt) {
                    throw new IOException("device gone");
                }
                out.writeLong(values[i]);
            }
        };
    }

    private static long[] read(DataInput in) throws IOException {
        long[] v = new long[in.readInt()];
        for (int i = 0; i < v.length; i++) {
            v[i] = in.readLong();
        }
        return v;
    }

    private List<String> sideFiles() throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).filter(SideFile::isSideName).sorted().toList();
        }
    }

    @Test
    void aSideFileComesBackAfterReopenAndEachCheckpointReplacesTheLast() throws Exception {
        long[] first = drawn(1, 600_000);
        long[] second = drawn(2, 300_000);
        try (Store s = Store.create(dir, config())) {
            s.checkpoint(1, new long[0], Map.of("w", new byte[] {1}), null, Map.of("counts", source(first, -1)));
            assertEquals(List.of(SideFile.fileName("counts", 1)), sideFiles());
            assertTrue(s.hasSide("counts"));
            assertArrayEquals(first, s.readSide("counts", SideFileTest::read));
            s.checkpoint(2, new long[0], Map.of(), null, Map.of("counts", source(second, -1), "other", source(first, -1)));
            assertEquals(List.of(SideFile.fileName("counts", 2), SideFile.fileName("other", 2)), sideFiles(),
                    "the previous checkpoint's file is deleted once the new manifest is published");
        }
        try (Store s = Store.open(dir, config())) {
            assertArrayEquals(second, s.readSide("counts", SideFileTest::read));
            assertArrayEquals(first, s.readSide("other", SideFileTest::read));
            s.checkpoint(3, new long[0], Map.of());
            assertFalse(s.hasSide("counts"));
            assertEquals(List.of(), sideFiles(), "a checkpoint without the state retires its file");
            StoreException e = assertThrows(StoreException.class, () -> s.readSide("counts", SideFileTest::read));
            assertTrue(e.getMessage().contains("saved no state counts"), e.getMessage());
        }
    }

    /** A store reopened with a hot dump checkpoints again at once: its side files carry over. */
    @Test
    void sideFilesSurviveTheCheckpointThatFoldsAHotDumpAtOpen() throws Exception {
        long[] values = drawn(3, 10_000);
        try (Store s = Store.create(dir, config())) {
            java.nio.ByteBuffer row = java.nio.ByteBuffer.allocateDirect(A.layout().bytesPerRow())
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(0, 2.5f);
            s.checkpoint(1, new long[0], Map.of(), out -> out.rows(0, new long[] {7}, 1, row),
                    Map.of("counts", source(values, -1)));
        }
        try (Store s = Store.open(dir, config())) {
            assertEquals(2, s.lastCheckpoint().epoch(), "the dump was folded by a checkpoint of the same state");
            assertArrayEquals(values, s.readSide("counts", SideFileTest::read));
            assertEquals(List.of(SideFile.fileName("counts", 1)), sideFiles());
        }
        try (Store s = Store.open(dir, config())) {
            assertArrayEquals(values, s.readSide("counts", SideFileTest::read));
        }
    }

    /** Seeded damage (truncated, a byte flipped, bytes appended, deleted): refused naming the file, reader untouched. */
    @Test
    void aDamagedSideFileIsRefusedNamingItBeforeItsReaderSeesAByte() throws Exception {
        long[] values = drawn(4, 50_000);
        try (Store s = Store.create(dir, config())) {
            s.checkpoint(1, new long[0], Map.of(), null, Map.of("counts", source(values, -1)));
        }
        Path file = dir.resolve(SideFile.fileName("counts", 1));
        byte[] good = Files.readAllBytes(file);
        SplittableRandom rnd = new SplittableRandom(5);
        for (int trial = 0; trial < 8; trial++) {
            byte[] bytes = good.clone();
            String what;
            switch (trial % 4) {
                case 0 -> {
                    int len = rnd.nextInt(bytes.length);
                    bytes = Arrays.copyOf(bytes, len);
                    what = "truncated to " + len;
                }
                case 1 -> {
                    int at = rnd.nextInt(bytes.length);
                    bytes[at] ^= (byte) (1 + rnd.nextInt(255));
                    what = "byte " + at + " flipped";
                }
                case 2 -> {
                    bytes = Arrays.copyOf(bytes, bytes.length + 1 + rnd.nextInt(100));
                    what = "bytes appended";
                }
                default -> {
                    bytes = null;
                    what = "deleted";
                }
            }
            if (bytes == null) {
                Files.delete(file);
            } else {
                Files.write(file, bytes);
            }
            try (Store s = Store.open(dir, config())) {
                StoreException e = assertThrows(StoreException.class, () -> s.readSide("counts", in -> {
                    throw new AssertionError("the reader saw a damaged file");
                }), what);
                assertTrue(e.getMessage().contains(file.toString()), what + ": the error names the file: " + e.getMessage());
            }
            Files.write(file, good);
            try (Store s = Store.open(dir, config())) {
                assertArrayEquals(values, s.readSide("counts", SideFileTest::read), what + ", then put back");
            }
        }
    }

    @Test
    void aSideFileThatFailsLeavesThePreviousCheckpointAndAStrayIsDeletedAtOpen() throws Exception {
        long[] values = drawn(6, 20_000);
        try (Store s = Store.create(dir, config())) {
            s.checkpoint(1, new long[] {1}, Map.of(), null, Map.of("counts", source(values, -1)));
            StoreException e = assertThrows(StoreException.class,
                    () -> s.checkpoint(2, new long[] {2}, Map.of(), null, Map.of("counts", source(drawn(7, 20_000), 9_000))));
            assertTrue(e.getMessage().contains("device gone") && e.getMessage().contains("step 1"), e.getMessage());
            assertEquals(1, s.lastCheckpoint().step());
            assertEquals(List.of(SideFile.fileName("counts", 1)), sideFiles(), "the failed file is deleted, the last kept");
            assertArrayEquals(values, s.readSide("counts", SideFileTest::read));
        }
        // What a kill in the middle of a checkpoint leaves: a partial file the manifest does not name.
        Files.write(dir.resolve(SideFile.fileName("counts", 2)), new byte[] {1, 2, 3});
        Files.write(dir.resolve(HotDump.fileName(2)), new byte[] {4});
        try (Store s = Store.open(dir, config())) {
            assertEquals(List.of(SideFile.fileName("counts", 1)), sideFiles());
            assertArrayEquals(values, s.readSide("counts", SideFileTest::read));
            // The next checkpoint takes epoch 2's name again.
            s.checkpoint(2, new long[0], Map.of(), null, Map.of("counts", source(values, -1)));
            assertEquals(List.of(SideFile.fileName("counts", 2)), sideFiles());
        }
    }

    @Test
    void sideBlobNamesAreTheStoresAndSideNamesAreChecked() {
        try (Store s = Store.create(dir, config())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> s.checkpoint(1, new long[0], Map.of(Store.SIDE_BLOB_PREFIX + "x", new byte[1])));
            assertTrue(e.getMessage().contains(Store.SIDE_BLOB_PREFIX), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> s.checkpoint(1, new long[0], Map.of(), null, Map.of("../up", source(new long[1], -1))));
            assertTrue(e.getMessage().contains("../up"), e.getMessage());
            assertEquals(0, s.lastCheckpoint().step(), "a refused checkpoint changes nothing");
        }
        assertTrue(SideFile.isSideName("side.counts.12"));
        assertFalse(SideFile.isSideName("side.counts."));
        assertFalse(SideFile.isSideName("side..12"));
        assertFalse(SideFile.isSideName("hot.1.dump"));
    }
}
