package dev.ember.cache.threads;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * What took one thread off its core, as Linux counts it: page faults (minor: a page mapped without
 * I/O; major: one read from a file or swap first) from {@code /proc/thread-self/stat}, and context
 * switches (voluntary: it blocked, on a lock, a futex, I/O; involuntary: the scheduler took the core
 * away) from {@code /proc/thread-self/status}. Beside {@link RunDelay}'s wait for a core, it says
 * why a stretch of wall time had no CPU time in it.
 *
 * <p>Bound to the thread that opened it; two reads of a few microseconds, no allocation.
 * {@link #open()} gives null where the files are not there.
 *
 * <pre>
 *  stat:   "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt ..."
 *                      ^ field 3 (after the last ')')          ^ 10           ^ 12
 *  status: "...\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n"
 *  read(into): into[0] minor faults, [1] major faults, [2] voluntary switches, [3] involuntary
 * </pre>
 */
public final class ThreadEvents implements AutoCloseable {
    /** How many counts {@link #read} writes. */
    public static final int COUNTS = 4;
    private static final byte[] VOLUNTARY = "\nvoluntary_ctxt_switches:".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] INVOLUNTARY = "\nnonvoluntary_ctxt_switches:".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private final FileChannel stat;
    private final FileChannel status;
    private final ByteBuffer text = ByteBuffer.allocateDirect(8192);
    private final Thread owner = Thread.currentThread();

    private ThreadEvents(FileChannel stat, FileChannel status) {
        this.stat = stat;
        this.status = status;
    }

    /** The calling thread's counts, or null where the system does not show them. */
    public static ThreadEvents open() {
        FileChannel stat = null;
        try {
            stat = FileChannel.open(Path.of("/proc/thread-self/stat"));
            ThreadEvents e = new ThreadEvents(stat, FileChannel.open(Path.of("/proc/thread-self/status")));
            if (!e.read(new long[COUNTS])) {
                e.close();
                return null;
            }
            return e;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            if (stat != null) {
                try {
                    stat.close();
                } catch (IOException ignored) {
                    // a proc file: nothing to flush
                }
            }
            return null;
        }
    }

    /** Whether the calling thread is the one this reads. */
    public boolean ownedByCurrentThread() {
        return Thread.currentThread() == owner;
    }

    /** Reads the owning thread's counts so far into {@code into[0..3]} (see above); false when a read fails. */
    public boolean read(long[] into) {
        if (!fill(stat)) {
            return false;
        }
        int end = text.position();
        int close = -1;
        for (int i = 0; i < end; i++) {
            if (text.get(i) == ')') {
                close = i; // the last one: a thread's name may hold parentheses
            }
        }
        if (close < 0) {
            return false;
        }
        // After ") ": state is field 3; minflt field 10 is 7 spaces on, majflt field 12 two more.
        int minor = field(close + 2, end, 7);
        int major = field(close + 2, end, 9);
        if (minor < 0 || major < 0) {
            return false;
        }
        into[0] = ProcText.number(text, minor, end);
        into[1] = ProcText.number(text, major, end);
        if (!fill(status)) {
            return false;
        }
        end = text.position();
        int v = find(VOLUNTARY, end);
        int n = find(INVOLUNTARY, end);
        if (v < 0 || n < 0) {
            return false;
        }
        into[2] = ProcText.number(text, skipBlanks(v + VOLUNTARY.length, end), end);
        into[3] = ProcText.number(text, skipBlanks(n + INVOLUNTARY.length, end), end);
        return into[0] >= 0 && into[1] >= 0 && into[2] >= 0 && into[3] >= 0;
    }

    private boolean fill(FileChannel file) {
        text.clear();
        try {
            while (text.hasRemaining() && file.read(text, text.position()) > 0) {
                // proc files answer in one read mostly; a long status may take two
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Where the field {@code skip} spaces after {@code from} starts, or -1. */
    private int field(int from, int end, int skip) {
        int i = from;
        for (int s = 0; s < skip && i < end; i++) {
            if (text.get(i) == ' ') {
                s++;
                if (s == skip) {
                    return i + 1;
                }
            }
        }
        return skip == 0 ? from : -1;
    }

    private int find(byte[] what, int end) {
        for (int i = 0; i + what.length <= end; i++) {
            int k = 0;
            while (k < what.length && text.get(i + k) == what[k]) {
                k++;
            }
            if (k == what.length) {
                return i;
            }
        }
        return -1;
    }

    private int skipBlanks(int i, int end) {
        while (i < end && (text.get(i) == '\t' || text.get(i) == ' ')) {
            i++;
        }
        return i;
    }

    @Override
    public void close() {
        try {
            stat.close();
            status.close();
        } catch (IOException ignored) {
            // proc files: nothing to flush
        }
    }
}
