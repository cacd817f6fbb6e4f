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
 * are). Linux only (elsewhere, or if the call fails, threads keep their priority; the first
 * failure is kept for {@link #problem()}). Raising one's own nice value needs no privilege.
 */
public final class BackgroundPriority {
    /** The nice value given by default: a fifth of the CPU share of a nice-0 thread when both want a core. */
    public static final int DEFAULT_NICE = 7;
    public static final String NICE_PROPERTY = "ember.background.nice";
    private static final int PRIO_PROCESS = 0; // with a thread id: that thread alone (Linux)

    private static final AtomicInteger LOWERED = new AtomicInteger();
    private static final AtomicReference<String> PROBLEM = new AtomicReference<>();

    private interface LibC extends Library {
        int setpriority(int which, int who, int prio);

        int getpriority(int which, int who);
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

    /** Lowers the calling thread's priority to {@link #nice()}; returns whether it did. */
    public static boolean lowerThisThread() {
        int nice = nice();
        if (nice <= 0 || !Platform.isLinux()) {
            return false;
        }
        try {
            int tid = Affinity.getThreadId();
            int target = Math.min(19, nice);
            if (Holder.C.getpriority(PRIO_PROCESS, tid) >= target) {
                return false; // already that low (a process started under nice): raising it needs privilege
            }
            if (Holder.C.setpriority(PRIO_PROCESS, tid, target) != 0) {
                PROBLEM.compareAndSet(null, "setpriority(" + tid + ", " + nice + ") failed with errno " + Native.getLastError());
                return false;
            }
            LOWERED.incrementAndGet();
            return true;
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
