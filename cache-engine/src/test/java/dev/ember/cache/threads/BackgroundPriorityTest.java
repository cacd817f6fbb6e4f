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

    /** The kernel's record of a thread's scheduling policy: field 41 of its stat (0 normal, 3 batch). */
    private static int policyOf(int tid) throws Exception {
        String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(fields[38]);
    }

    @Test
    void withTheBatchPolicyALoweredThreadIsInSchedBatchAndABadPolicyIsRefused() throws Exception {
        assumeTrue(Path.of("/proc/self/task").toFile().isDirectory(), "needs Linux's /proc to read a thread's policy");
        String before = System.getProperty(BackgroundPriority.POLICY_PROPERTY);
        try {
            System.setProperty(BackgroundPriority.POLICY_PROPERTY, "batch");
            AtomicInteger policy = new AtomicInteger(-1);
            AtomicInteger nice = new AtomicInteger(Integer.MIN_VALUE);
            Thread t = new Thread(BackgroundPriority.lowered(() -> {
                try {
                    policy.set(policyOf(Affinity.getThreadId()));
                    nice.set(niceOf(Affinity.getThreadId()));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }), "test-batch");
            t.start();
            t.join();
            assertEquals(null, BackgroundPriority.problem(), "lowering failed");
            assertEquals(BackgroundPriority.SCHED_BATCH, policy.get(), "SCHED_BATCH");
            assertTrue(nice.get() >= Math.min(19, BackgroundPriority.nice()), "and the nice value still: " + nice.get());
            assertEquals(0, policyOf(Affinity.getThreadId()), "the caller keeps its policy");
            System.setProperty(BackgroundPriority.POLICY_PROPERTY, "idle");
            IllegalArgumentException bad = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    BackgroundPriority::batchPolicy);
            assertTrue(bad.getMessage().contains("ember.background.policy"), bad.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(BackgroundPriority.POLICY_PROPERTY);
            } else {
                System.setProperty(BackgroundPriority.POLICY_PROPERTY, before);
            }
        }
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
