package dev.ember.cache.threads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class RunDelayTest {
    private static final Path SCHEDSTAT = Path.of("/proc/thread-self/schedstat");

    /** Spins for {@code millis} of wall time. */
    private static long spin(long millis) {
        long end = System.nanoTime() + millis * 1_000_000;
        long x = 0;
        while (System.nanoTime() < end) {
            x += x * 31 + 7;
        }
        return x;
    }

    @Test
    void aThreadSharingTooFewCoresWaitsForOneAndASleepingThreadDoesNot() throws Exception {
        assumeTrue(Files.isReadable(SCHEDSTAT), "needs Linux's " + SCHEDSTAT + " (the scheduler's run delay)");
        try (RunDelay d = RunDelay.open()) {
            assertNotNull(d, "the file is there, so it opens");
            long before = d.nanos();
            Thread.sleep(200);
            long asleep = d.nanos() - before;
            assertTrue(asleep >= 0 && asleep < 100_000_000L, "a sleeping thread waits for no core, beyond waking: " + asleep + " ns");

            int cores = Runtime.getRuntime().availableProcessors();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> spinners = new ArrayList<>();
            for (int i = 0; i < 2 * cores; i++) {
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        spin(1);
                    }
                });
                t.setDaemon(true);
                t.start();
                spinners.add(t);
            }
            try {
                long busy0 = d.nanos();
                spin(400);
                long busy = d.nanos() - busy0;
                assertTrue(busy > 10_000_000L, "with twice as many spinning threads as cores, 400 ms of spinning waited "
                        + busy + " ns for a core");
            } finally {
                stop.set(true);
                for (Thread t : spinners) {
                    t.join();
                }
            }
        }
    }

    @Test
    void aReaderReadsTheThreadThatOpenedItWhicheverThreadAsks() throws Exception {
        assumeTrue(Files.isReadable(SCHEDSTAT), "needs Linux's " + SCHEDSTAT);
        try (RunDelay mine = RunDelay.open()) {
            assertNotNull(mine);
            assertTrue(mine.ownedByCurrentThread());
            AtomicReference<Boolean> owned = new AtomicReference<>();
            AtomicReference<Long> read = new AtomicReference<>();
            Thread other = new Thread(() -> {
                owned.set(mine.ownedByCurrentThread());
                read.set(mine.nanos());
            });
            other.start();
            other.join();
            assertFalse(owned.get());
            assertTrue(read.get() >= 0, "the opener's count, read from another thread");
            long again = mine.nanos();
            assertTrue(again >= read.get(), "a thread's run delay only grows: " + read.get() + " then " + again);
            String text = Files.readString(Path.of("/proc/self/task/" + ProcessHandle.current().pid() + "/schedstat"));
            assertEquals(3, text.trim().split(" ").length, "schedstat is three numbers: " + text);
        }
    }
}
