package dev.ember.cache.tiered;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * A diagnosis of slow step boundaries ({@code -Dember.boundary.watch=true}; off by default): a
 * thread of its own looks at the step thread every {@value #POLL_MICROS} us and, once a boundary
 * has run past {@value #SAMPLE_AFTER_MICROS} us, takes the step thread's state and stack, once a
 * boundary, for the first {@value #KEPT} such boundaries. A boundary off its core with no wait for
 * one (its run delay) is blocked: the stack says in what (a driver call, a lock, code that
 * faulted a page in). The step thread's cost: two volatile writes a boundary.
 *
 * <p>A stack taken while the step thread runs Java code waits for it to reach a safepoint poll,
 * so it shows where the thread went on from; one taken in native code shows the call it is in.
 */
final class BoundaryWatch implements AutoCloseable {
    static final String PROPERTY = "ember.boundary.watch";
    static final int POLL_MICROS = 200;
    static final int SAMPLE_AFTER_MICROS = 1000;
    static final int KEPT = 16;
    /** Frames kept of each stack, from the top. */
    private static final int FRAMES = 14;

    private final Thread watcher;
    private volatile Thread stepThread;
    /** When the boundary under way started (System.nanoTime), or 0 between boundaries. */
    private volatile long startedAt;
    private volatile boolean closed;
    private final List<String> samples = new ArrayList<>();
    private final long uptimeBaseMillis = ManagementFactory.getRuntimeMXBean().getUptime();
    private final long uptimeBaseNanos = System.nanoTime();

    BoundaryWatch() {
        watcher = new Thread(this::watch, "ember-boundary-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    /** Whether slow boundaries are to be watched ({@link #PROPERTY}). */
    static boolean wanted() {
        return Boolean.getBoolean(PROPERTY);
    }

    /** A boundary starts on the calling thread. */
    void begin(long nanos) {
        Thread t = Thread.currentThread();
        if (stepThread != t) {
            stepThread = t;
        }
        startedAt = nanos;
    }

    /** The boundary under way ended. */
    void end() {
        startedAt = 0;
    }

    private void watch() {
        long sampled = 0;
        while (!closed) {
            LockSupport.parkNanos(POLL_MICROS * 1000L);
            long s = startedAt;
            if (s == 0 || s == sampled) {
                continue;
            }
            long ran = System.nanoTime() - s;
            if (ran < SAMPLE_AFTER_MICROS * 1000L) {
                continue;
            }
            Thread t = stepThread;
            Thread.State state = t.getState();
            StackTraceElement[] stack = t.getStackTrace();
            long sawAt = System.nanoTime();
            sampled = s;
            StringBuilder b = new StringBuilder(String.format("at %.3f s, %.2f ms in, %s:",
                    (uptimeBaseMillis + (sawAt - uptimeBaseNanos) / 1_000_000) / 1e3, ran / 1e6, state));
            if (startedAt != s) {
                b.append(" (the boundary ended before the stack was taken)");
            }
            for (int i = 0; i < Math.min(FRAMES, stack.length); i++) {
                StackTraceElement f = stack[i];
                b.append(i == 0 ? " " : " < ").append(simpleClass(f.getClassName())).append('.').append(f.getMethodName())
                        .append(':').append(f.getLineNumber());
            }
            synchronized (samples) {
                samples.add(b.toString());
                if (samples.size() >= KEPT) {
                    return;
                }
            }
        }
    }

    private static String simpleClass(String name) {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    /** The samples taken, one a line, or "none". */
    String samples() {
        synchronized (samples) {
            return samples.isEmpty() ? "none" : String.join("\n  ", samples);
        }
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(watcher);
    }
}
