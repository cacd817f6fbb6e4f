package dev.ember.cache.threads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ThreadEventsTest {
    private static final Path STAT = Path.of("/proc/thread-self/stat");

    @TempDir
    Path dir;

    /** The counts as the proc files' own text gives them, parsed plainly (a reference for the byte parser). */
    private static long[] plain() throws IOException {
        String stat = Files.readString(STAT);
        String[] after = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        long voluntary = -1;
        long involuntary = -1;
        for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
            if (line.startsWith("voluntary_ctxt_switches:")) {
                voluntary = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
                involuntary = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return new long[] {Long.parseLong(after[7]), Long.parseLong(after[9]), voluntary, involuntary};
    }

    @Test
    void countsMatchTheProcFilesAndGrowWithFaultsAndSleeps() throws Exception {
        assumeTrue(Files.isReadable(STAT), "needs Linux's " + STAT + " (a thread's faults and switches)");
        try (ThreadEvents e = ThreadEvents.open()) {
            assertNotNull(e, "the files are there, so it opens");
            long[] before = new long[ThreadEvents.COUNTS];
            long[] ref = plain();
            assertTrue(e.read(before));
            long[] refAfter = plain();
            for (int i = 0; i < ThreadEvents.COUNTS; i++) {
                assertTrue(before[i] >= ref[i] && before[i] <= refAfter[i] + 1, "count " + i + ": " + before[i]
                        + " between the plain reads " + ref[i] + " and " + refAfter[i]);
            }

            // Touching fresh pages of a mapped file faults each in; sleeping gives the core up.
            Path f = dir.resolve("pages");
            int pages = 256;
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate(1), pages * 4096L - 1);
                var map = ch.map(FileChannel.MapMode.READ_WRITE, 0, pages * 4096L);
                for (int p = 0; p < pages; p++) {
                    map.put(p * 4096, (byte) 1);
                }
            }
            for (int i = 0; i < 5; i++) {
                Thread.sleep(2);
            }
            long[] after = new long[ThreadEvents.COUNTS];
            assertTrue(e.read(after));
            // A fault may map a large folio of several pages at once (file systems with them), so not one a page.
            assertTrue(after[0] + after[1] - before[0] - before[1] >= pages / 32, "touching " + pages
                    + " fresh mapped pages faulted: " + (after[0] - before[0]) + " minor, " + (after[1] - before[1]) + " major");
            assertTrue(after[2] - before[2] >= 5, "five sleeps are five voluntary switches at least: " + (after[2] - before[2]));
            assertTrue(after[3] >= before[3], "involuntary switches only grow");
        }
    }

    @Test
    void aReaderReadsTheThreadThatOpenedItWhicheverThreadAsks() throws Exception {
        assumeTrue(Files.isReadable(STAT), "needs Linux's " + STAT);
        try (ThreadEvents mine = ThreadEvents.open()) {
            assertNotNull(mine);
            assertTrue(mine.ownedByCurrentThread());
            long[] before = new long[ThreadEvents.COUNTS];
            long[] after = new long[ThreadEvents.COUNTS];
            boolean[] ok = new boolean[1];
            // The other thread sleeps 20 times between its two reads of the opener's counts; the
            // opener meanwhile blocks once, in join.
            Thread other = new Thread(() -> {
                ok[0] = !mine.ownedByCurrentThread() && mine.read(before);
                for (int i = 0; i < 20; i++) {
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException x) {
                        Thread.currentThread().interrupt();
                    }
                }
                ok[0] &= mine.read(after);
            });
            other.start();
            other.join();
            assertTrue(ok[0], "read from another thread");
            long switches = after[2] - before[2];
            assertTrue(switches >= 0 && switches < 10, "the opener's voluntary switches (blocked in join), not the"
                    + " sleeper's 20: " + switches);
        }
    }
}
