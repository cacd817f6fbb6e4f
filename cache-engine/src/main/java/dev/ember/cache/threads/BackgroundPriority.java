package dev.ember.cache.threads;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import net.openhft.affinity.Affinity;

/**
 * Lowers the OS priority (raises the nice value) of the thread that calls it: the tiered store's
 * work behind the steps (popularity counting, cold-tier reads ahead and writes behind, the knob,
 * moves' cold-tier work), so that when the host's cores are all busy the step thread and its
 * workers run first. A cache-mode step keeps about ten of sixteen cores busy on the GPU machine
 * (JFR's CPU load), and its step boundaries over 1 ms were the step thread off its core
 * (its CPU time a third of their wall time).
 *
 * <p>{@code -Dember.background.nice=N} (default {@value #DEFAULT_NICE}; 0 leaves threads as they
 * are). {@code -Dember.background.policy=batch} also puts them in Linux's {@code SCHED_BATCH}
 * class, whose threads never preempt a running thread when they wake (the scheduler's tick
 * shares the cores out instead): a background thread woken by the step thread, at a step boundary
 * say, on a host with no core free otherwise may take the step thread's core for a slice.
 * Linux only (elsewhere, or if a call fails, threads keep their priority; the first failure is
 * kept for {@link #problem()}). Raising one's own nice value, or moving between the two
 * non-real-time classes, needs no privilege.
 */
public final class BackgroundPriority {
    /** The nice value given by default: a fifth of the CPU share of a nice-0 thread when both want a core. */
    public static final int DEFAULT_NICE = 7;
    public static final String NICE_PROPERTY = "ember.background.nice";
    private static final int PRIO_PROCESS = 0; // with a thread id: that thread alone (Linux)
    public static final String POLICY_PROPERTY = "ember.background.policy";
    /** Linux's SCHED_BATCH (sched.h). */
    static final int SCHED_BATCH = 3;

    private static final AtomicInteger LOWERED = new AtomicInteger();
    private static final AtomicReference<String> PROBLEM = new AtomicReference<>();

    private interface LibC extends Library {
        int setpriority(int which, int who, int prio);

        int getpriority(int which, int who);

        /** {@code param}: one int, the static priority (0 for the non-real-time classes). */
        int sched_setscheduler(int pid, int policy, int[] param);
    }

    private static final class Holder {
        static final LibC C = Native.load("c", LibC.class);
    }

    private BackgroundPriority() {
    }

    /** The nice value background threads take (the property, or the default). */
    public static int nice() {
        return Integer.getInteger(NICE_PROPERTY, DEFAULT_NICE);
    }

    /** Whether background threads go into SCHED_BATCH ({@link #POLICY_PROPERTY}: batch or normal). */
    public static boolean batchPolicy() {
        String p = System.getProperty(POLICY_PROPERTY, "normal").trim();
        if (!p.equals("batch") && !p.equals("normal")) {
            throw new IllegalArgumentException("-D" + POLICY_PROPERTY + " must be batch or normal, got '" + p + "'");
        }
        return p.equals("batch");
    }

    /**
     * Lowers the calling thread's priority to {@link #nice()}, and puts it in SCHED_BATCH when
     * {@link #batchPolicy()}; returns whether it changed either.
     */
    public static boolean lowerThisThread() {
        int nice = nice();
        boolean batch;
        try {
            batch = batchPolicy();
        } catch (IllegalArgumentException e) {
            PROBLEM.compareAndSet(null, e.getMessage());
            batch = false;
        }
        if ((nice <= 0 && !batch) || !Platform.isLinux()) {
            return false;
        }
        try {
            int tid = Affinity.getThreadId();
            boolean changed = false;
            if (batch) {
                if (Holder.C.sched_setscheduler(tid, SCHED_BATCH, new int[] {0}) != 0) {
                    PROBLEM.compareAndSet(null, "sched_setscheduler(" + tid + ", SCHED_BATCH) failed with errno " + Native.getLastError());
                } else {
                    changed = true;
                }
            }
            int target = Math.min(19, nice);
            // At or below the target already (a process started under nice): raising it needs privilege.
            if (nice > 0 && Holder.C.getpriority(PRIO_PROCESS, tid) < target) {
                if (Holder.C.setpriority(PRIO_PROCESS, tid, target) != 0) {
                    PROBLEM.compareAndSet(null, "setpriority(" + tid + ", " + nice + ") failed with errno " + Native.getLastError());
                } else {
                    changed = true;
                }
            }
            if (changed) {
                LOWERED.incrementAndGet();
            }
            return changed;
        } catch (LinkageError | RuntimeException e) {
            PROBLEM.compareAndSet(null, "lowering a thread's priority failed: " + e);
            return false;
        }
    }

    /** Threads lowered so far. */
    public static int lowered() {
        return LOWERED.get();
    }

    /** The first failure to lower a thread, or null. */
    public static String problem() {
        return PROBLEM.get();
    }

    /** {@code work} on a thread that lowers its priority first (for thread factories). */
    public static Runnable lowered(Runnable work) {
        return () -> {
            lowerThisThread();
            work.run();
        };
    }
}
