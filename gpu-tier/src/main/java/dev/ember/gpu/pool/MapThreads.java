package dev.ember.gpu.pool;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The pool's map threads: {@code T} persistent daemon threads (a power of two; none when 1)
 * that run one {@link RowSlotStripes} call at a time, thread {@code w} on the stripes
 * {@code s} with {@code s % T == w}. With no threads the caller does each chunk itself.
 *
 * <p>Why: one probe of a multi-megabyte map costs ~15 ns a row on the GPU machine's host (a
 * cache miss), which held promotion and demotion to 14-52% of the pinned copy bandwidth; the copy
 * engine needs about 5 ns a row at dim 64. (16 stripes run as fork-join tasks per 16K-row chunk
 * measured slower than one thread: a wake-up per task per chunk.) Here threads wake once per call
 * (spin, then park), never wait for the caller, and publish their progress per chunk of rows, so
 * the pool copies chunk {@code k} while the threads map chunk {@code k + 1}. Measured on an
 * H200 host (16 cores), promotion from a row buffer at dim 64: 14.7% of the pinned copy
 * bandwidth with 1 thread, 59.7% with 8 (docs/runs/2026-11-26-H200-promote). A promotion from a
 * buffer that is not page-locked also has the threads copy each chunk's rows into the staging
 * chunk (one core copies ~10-15 GB/s, short of the copy engine's 55 GB/s).
 *
 * <p>Small calls (fewer than {@code minRows} rows) run on the caller alone and wake nobody: a
 * trainer in cache mode makes many of them (26 tables x ~100 rows a step), and waking 8 threads
 * costs more than it saves below about a thousand rows (H100 host, {@code SmallMoveBench}: a
 * promote plus a demote of 512 rows took 70 us on the caller, 85 us with the threads; 2048 rows
 * 143 / 120 us). Idle
 * threads spin {@value #SPIN_NANOS} ns after a call (a move's next call comes at once) and then
 * park: spinning longer burnt ~6 of 16 cores between the small calls of a training step.
 *
 * <pre>
 *  progress: | thread 0: long, 15 longs pad | thread 1: ... |   chunks of the current call done
 *  copied:   | thread 0: long, 15 longs pad | ...           |   chunks whose rows are staged or drained
 *  failures: | thread 0: int, 15 ints pad   | ...           |   rows that failed so far
 * </pre>
 */
final class MapThreads implements AutoCloseable {
    /** Waits inside a call (for the caller or another thread) spin this many times, then yield. */
    private static final int SPINS = 20_000;
    /** Idle threads spin this long after a call before they park. */
    static final long SPIN_NANOS = 50_000;
    private static final int PAD = 16;
    /**
     * In a call that copies, a thread looks for an opened copy after every this many of its rows:
     * the caller waits on each copy, and a whole chunk of mapping first (~2,000 map operations a
     * thread at dim 64, tens of microseconds) held each one up. On an H100 host, promotion from a
     * plain buffer went from 38.8% to 45-47% of the pinned copy bandwidth at dim 64, measured with
     * other changes beside this one that moved it in no variant (docs/runs/2026-11-26-H100-demote3).
     * Calls that do not copy map a chunk at a time, as before.
     */
    static final int SLICE = 256;

    private final Thread[] threads;
    private final int step;
    private final AtomicLongArray progress;
    private final AtomicLongArray copied;
    private final int[] failures;
    private final int minRows;
    /** Calls handed to the threads, and calls the threads ran (each thread counts each call it runs). */
    private final LongAdder handed = new LongAdder();
    private final LongAdder ran = new LongAdder();
    private RowSlotStripes call;
    /** Whether the call at hand runs on the caller alone. */
    private boolean inline;
    /** Each thread's row indices of the chunk at hand (the caller's is the last). */
    private final int[][] mine;
    private volatile int generation;
    /** Chunks whose staging the threads may fill (the caller opens one when the device is done with it). */
    private volatile int stagingOpen;
    private volatile boolean closed;

    /** {@code count} threads (a power of two; 1: none) for calls of at least {@code minRows} rows. */
    MapThreads(int count, int minRows, String name) {
        if (Integer.bitCount(count) != 1) {
            throw new IllegalArgumentException("map threads must be a power of two, got " + count);
        }
        if (minRows < 0) {
            throw new IllegalArgumentException("rows before map threads are woken must be >= 0, got " + minRows);
        }
        this.minRows = minRows;
        step = count;
        progress = new AtomicLongArray(count * PAD);
        copied = new AtomicLongArray(count * PAD);
        failures = new int[count * PAD];
        mine = new int[count + 1][0];
        threads = new Thread[count == 1 ? 0 : count];
        for (int w = 0; w < threads.length; w++) {
            final int id = w;
            threads[w] = new Thread(() -> loop(id), name + "-" + w);
            threads[w].setDaemon(true);
            threads[w].start();
        }
    }

    /** Stripes a table needs so that these threads can share its rows. */
    int stripes() {
        return step;
    }

    /** Calls handed to the threads so far (calls below {@code minRows} rows run on the caller). */
    long handed() {
        return handed.sum();
    }

    /** Calls the threads have run, summed over threads (a call handed to T threads counts T). */
    long ran() {
        return ran.sum();
    }

    /** Starts {@code stripes}' prepared call; wait for it chunk by chunk with {@link #awaitChunk}, to the last. */
    void start(RowSlotStripes stripes) {
        call = stripes;
        if (stripes.chunks() == 0) {
            // Nothing to wait for, so nothing is published: a call the caller does not wait for
            // could still be running (or not yet seen) when the next call's fields are written.
            return;
        }
        for (int w = 0; w < step; w++) {
            progress.set(w * PAD, 0);
            copied.set(w * PAD, 0);
            failures[w * PAD] = 0;
        }
        stagingOpen = 0;
        inline = threads.length == 0 || stripes.count() < minRows;
        if (inline) {
            return;
        }
        handed.increment();
        generation = generation + 1; // publishes the call
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
    }

    /**
     * For a call that copies rows ({@link RowSlotStripes#copyRows} or {@link RowSlotStripes#drainRows}):
     * lets the threads move chunk {@code k}'s rows between its staging and the caller's buffer,
     * then waits until they have. Call it for every chunk, in order, once the staging is ready
     * (free for a promotion, filled by the device for a demotion).
     */
    void copyChunk(int k) {
        if (inline) {
            call.copy(0, 1, k);
            return;
        }
        stagingOpen = k + 1;
        awaitAll(copied, k);
    }

    private void awaitAll(AtomicLongArray counters, int k) {
        for (int w = 0; w < threads.length; w++) {
            int i = w * PAD;
            for (int spins = 0; counters.get(i) <= k; spins++) {
                if (spins < SPINS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
    }

    /** Waits until chunk {@code k} (from 0) of the call is done; returns whether any row so far failed. */
    boolean awaitChunk(int k) {
        if (inline) {
            failures[0] += call.work(0, 1, k, mine(step, call));
            return failures[0] > 0;
        }
        awaitAll(progress, k);
        boolean failed = false;
        for (int w = 0; w < threads.length; w++) {
            failed |= failures[w * PAD] > 0;
        }
        return failed;
    }

    /**
     * Waits for the rest of the call from chunk {@code k}, copies included (so no thread touches
     * the call's buffers or maps after this returns); returns whether any row failed.
     */
    boolean awaitFrom(int k) {
        stagingOpen = Integer.MAX_VALUE; // a call cut short by an error must not leave threads waiting
        int chunks = call.chunks();
        if (inline) {
            for (; k < chunks; k++) {
                awaitChunk(k);
            }
            return failures[0] > 0;
        }
        if (chunks > 0) {
            // Counters only grow: the last chunk's covers every earlier one (k may be past a chunk an error skipped).
            awaitAll(progress, chunks - 1);
            if (call.copies()) {
                awaitAll(copied, chunks - 1);
            }
        }
        boolean failed = false;
        for (int w = 0; w < threads.length; w++) {
            failed |= failures[w * PAD] > 0;
        }
        return failed;
    }

    private int[] mine(int w, RowSlotStripes c) {
        if (mine[w].length < c.chunkRows()) {
            mine[w] = new int[c.chunkRows()];
        }
        return mine[w];
    }

    private void loop(int w) {
        int seen = 0;
        long idleSince = System.nanoTime();
        while (!closed) {
            int g = generation;
            if (g == seen) {
                if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
                continue;
            }
            seen = g;
            RowSlotStripes c = call;
            ran.increment(); // before the progress below publishes it
            run(w, c);
            idleSince = System.nanoTime();
        }
    }

    /**
     * Thread {@code w}'s share of call {@code c}: copies (gated by {@link #copyChunk}: the caller
     * waits on them) come first whenever one is open; mapping fills the time between them and
     * runs ahead freely (a promotion's mapping needs no staging; a demotion's drains need the
     * mapping of later chunks to have been issued).
     */
    private void run(int w, RowSlotStripes c) {
        int i = w * PAD;
        int chunks = c.chunks();
        int kc = c.copies() ? 0 : chunks;
        int km = 0;
        int[] mine = mine(w, c);
        int n = -1; // this thread's rows of chunk km, once picked out
        int done = 0; // of those, mapped so far
        for (int wait = 0; kc < chunks || km < chunks; ) {
            if (kc < chunks && stagingOpen > kc) {
                c.copy(w, step, kc);
                copied.set(i, ++kc); // publishes the copied bytes
                wait = 0;
            } else if (km < chunks) {
                if (n < 0) {
                    n = c.share(w, step, km, mine);
                }
                int to = c.copies() ? Math.min(n, done + SLICE) : n;
                failures[i] += c.apply(w, step, mine, done, to);
                done = to;
                if (done == n) {
                    n = -1;
                    done = 0;
                    progress.set(i, ++km); // publishes the chunk's slots, flags and failures
                }
                wait = 0;
            } else if (wait++ < SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
    }
}
