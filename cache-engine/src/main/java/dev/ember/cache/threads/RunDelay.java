package dev.ember.cache.threads;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * One thread's time spent runnable but waiting for a core, as Linux's scheduler counts it
 * ({@code /proc/thread-self/schedstat}: time on a core, time waiting on a run queue, slices). A
 * stretch of wall time the thread's CPU time does not cover is this wait (the cores were busy) or
 * the thread blocked (a lock, a page fault's read, a safepoint): the difference tells them apart.
 *
 * <p>Bound to the thread that opened it (the file names that thread); about 2 us a read, no
 * allocation. {@link #open()} gives null where there is no such file (not Linux, or schedstats off).
 *
 * <pre>
 *  schedstat: "&lt;on-cpu ns&gt; &lt;run-queue wait ns&gt; &lt;slices&gt;\n"
 * </pre>
 */
public final class RunDelay implements AutoCloseable {
    private final FileChannel file;
    private final ByteBuffer text = ByteBuffer.allocateDirect(96);
    private final Thread owner = Thread.currentThread();

    private RunDelay(FileChannel file) {
        this.file = file;
    }

    /** The calling thread's run delay, or null where the system does not count it. */
    public static RunDelay open() {
        try {
            RunDelay d = new RunDelay(FileChannel.open(Path.of("/proc/thread-self/schedstat")));
            if (d.nanos() < 0) {
                d.close();
                return null;
            }
            return d;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }

    /** Whether the calling thread is the one this reads. */
    public boolean ownedByCurrentThread() {
        return Thread.currentThread() == owner;
    }

    /** Nanoseconds the owning thread has waited to run since it started; -1 when the read fails. */
    public long nanos() {
        try {
            text.clear();
            file.read(text, 0);
        } catch (IOException e) {
            return -1;
        }
        int end = text.position();
        int i = 0;
        while (i < end && text.get(i) != ' ') {
            i++; // the time on a core
        }
        return ProcText.number(text, i + 1, end);
    }

    @Override
    public void close() {
        try {
            file.close();
        } catch (IOException ignored) {
            // a proc file: nothing to flush
        }
    }
}
