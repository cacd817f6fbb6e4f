package dev.ember.cache.threads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import net.openhft.affinity.Affinity;
import org.junit.jupiter.api.Test;

class BackgroundPriorityTest {

    /** The kernel's own record of a thread's nice value: field 19 of /proc/self/task/TID/stat. */
    private static int niceOf(int tid) throws Exception {
        String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(fields[16]); // fields from 3 (state) on: nice is field 19
    }

    @Test
    void aLoweredThreadRunsAtTheBackgroundNiceValueAndOthersKeepTheirs() throws Exception {
        assumeTrue(Path.of("/proc/self/task").toFile().isDirectory(), "needs Linux's /proc to read a thread's nice value");
        int callerBefore = niceOf(Affinity.getThreadId());
        AtomicInteger nice = new AtomicInteger(Integer.MIN_VALUE);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread t = new Thread(BackgroundPriority.lowered(() -> {
            try {
                nice.set(niceOf(Affinity.getThreadId()));
            } catch (Exception e) {
                failed.set(e);
            }
        }), "test-background");
        t.start();
        t.join();
        assertEquals(null, failed.get());
        assertEquals(null, BackgroundPriority.problem(), "lowering failed");
        assertEquals(Math.max(callerBefore, Math.min(19, BackgroundPriority.nice())), nice.get());
        assertTrue(BackgroundPriority.lowered() >= 1 || callerBefore >= BackgroundPriority.nice());
        assertEquals(callerBefore, niceOf(Affinity.getThreadId()), "the caller keeps its priority");
    }
}
