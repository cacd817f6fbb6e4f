package dev.ember.cache.store;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.StoreDigest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A store on a real 4 MiB tmpfs that fills up: creating tables larger than the file system is
 * refused naming the store and the bytes needed; a filled disk under a working store turns
 * updates or the checkpoint into a {@link StoreException} naming the store (no SIGBUS, no JVM
 * crash), and after the space comes back the store reopens at its last checkpoint, bit for bit.
 * Needs {@code mount} (root); elsewhere it is skipped saying so.
 */
class FullDiskTest {
    private static final long FS_BYTES = 4L << 20;

    @TempDir
    Path tmp;
    Path fs;
    boolean mounted;

    @BeforeEach
    void mountSmallFileSystem() throws Exception {
        fs = tmp.resolve("fs");
        Files.createDirectories(fs);
        String why;
        try {
            Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + FS_BYTES, "tmpfs", fs.toString())
                    .redirectErrorStream(true).start();
            boolean done = p.waitFor(30, TimeUnit.SECONDS);
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            mounted = done && p.exitValue() == 0;
            why = done ? "exit " + p.exitValue() + ": " + out : "mount did not finish in 30 s";
        } catch (IOException e) {
            why = e.getMessage();
        }
        String reason = why;
        assumeTrue(mounted, () -> "full-disk test skipped: cannot mount a 4 MiB tmpfs here (needs root): " + reason);
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            new ProcessBuilder("umount", fs.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void tablesLargerThanTheFileSystemAreRefusedNamingTheStoreAndTheSpaceNeeded() {
        Path dir = fs.resolve("big");
        StoreException e = assertThrows(StoreException.class, () -> Store.create(dir, StoreConfig.builder()
                .table(new TableSpec("huge", 400_000, 16, Optimizer.ADAGRAD)).jmx(false).build()));
        String m = e.getMessage();
        assertTrue(m.contains(dir.toString()), m);
        // Chronicle's words: "Not enough space to fallocate 64 MiB to / unallocated was 3 MiB"
        assertTrue(m.contains("space") && m.contains("MiB"), "names the space needed and free: " + m);
    }

    @Test
    void aDiskThatFillsUpGivesAStoreErrorAndTheLastCheckpointSurvives() throws Exception {
        Path dir = fs.resolve("store");
        List<TableSpec> specs = List.of(new TableSpec("clicks", 3000, 16, Optimizer.ADAGRAD),
                new TableSpec("ads", 2000, 8, Optimizer.SGD));
        SplittableRandom rnd = new SplittableRandom(5);
        long want;
        byte[] blob = new byte[1000];
        rnd.nextBytes(blob);
        try (Store s = Store.create(dir, StoreConfig.builder().tables(specs).seed(3).jmx(false).build())) {
            update(s, rnd, 4);
            s.checkpoint(4, new long[] {4}, Map.of("w", blob));
            want = StoreDigest.of(s);
            fill(fs.resolve("filler"));
            // an update's pre-images or the checkpoint's manifest meets the full disk first
            RuntimeException e = assertThrows(RuntimeException.class, () -> {
                for (int step = 5; step < 200; step++) {
                    update(s, rnd, 1);
                    s.checkpoint(step, new long[] {step}, Map.of("w", new byte[256 << 10]));
                }
            });
            String m = e.getMessage();
            assertTrue(m.contains(dir.toString()), "names the store: " + m);
            assertTrue(e instanceof StoreException || e instanceof java.io.UncheckedIOException, "a store error: " + e);
            assertTrue(m.contains("bytes needed") || m.contains("needs over"), "names the space needed: " + m);
            assertTrue(m.contains("bytes free on"), "names the space free: " + m);
            System.out.println("full disk: " + m);
        }
        Files.delete(fs.resolve("filler"));
        try (Store s = Store.open(dir, StoreConfig.builder().jmx(false).build())) {
            assertEquals(4, s.lastCheckpoint().step());
            assertArrayEquals(blob, s.lastCheckpoint().blobs().get("w"));
            assertEquals(want, StoreDigest.of(s), "rows are those of the last checkpoint");
            update(s, rnd, 2); // and it works again
            s.checkpoint(6, new long[] {6}, Map.of());
        }
        assertFalse(Files.exists(fs.resolve("filler")));
    }

    /** Writes until the file system is full. */
    private static void fill(Path filler) {
        byte[] chunk = new byte[64 << 10];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) {
                out.write(chunk);
            }
        } catch (IOException full) {
            // No space left on device: the point
        }
    }

    private static void update(Store s, SplittableRandom rnd, int batches) {
        PooledBatch batch = new PooledBatch(1024, 512);
        DedupedIds dedup = new DedupedIds();
        ByteBuffer grads = ByteBuffer.allocateDirect(512 * 16 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < batches; k++) {
            for (ColdTable t : s.tables()) {
                batch.clear();
                for (int b = 0; b < 256; b++) {
                    batch.add(rnd.nextLong(t.spec().rows())).endBag();
                }
                dedup.build(batch);
                for (int i = 0; i < 256 * t.spec().dim(); i++) {
                    grads.putFloat(4 * i, (float) (rnd.nextDouble() - 0.5));
                }
                t.apply(dedup, grads, 0.1f, 1e-8f);
            }
        }
    }
}
