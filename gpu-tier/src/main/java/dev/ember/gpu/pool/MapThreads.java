package dev.ember.gpu.pool;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The pool's map threads: {@code T} persistent daemon threads (a power of two; none when 1)
 * that run one {@link RowSlotStripes} call at a time, thread {@code w} on the stripes
 * {@code s} with {@code s % T == w}, and {@code C} copy threads that only share the call's
 * copies between a plain buffer and the staging. With no threads the caller does each chunk itself.
 *
 * <p>Per chunk of a call: each map thread sorts its {@code 1/T} slice of the chunk's rows by
 * stripe (a counting sort; one row's stripe is computed once, where every thread used to walk
 * every row to find its own), then, once every thread has sorted its slice, maps its stripe's
 * rows from all the slices, {@value #SLICE} at a time, looking for an opened copy between
 * slices. A GET's or REMOVE's slots go to the thread's own array ({@code found}) and the caller
 * places them in the call's slots when it takes the chunk: threads writing them straight into
 * the call's slots, interleaved by stripe, each wrote into every cache line of them.
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
 *  progress:    | thread 0: long, 15 longs pad | thread 1: ... |   chunks of the current call mapped
 *  partitioned: | thread 0: long, 15 longs pad | ...           |   chunks whose slice the thread has sorted
 *  copied:      | thread 0: long, 15 longs pad | ...           |   chunks whose rows are staged or drained
 *                                                                  (map threads, then copy threads)
 *  failures:    | thread 0: int, 15 ints pad   | ...           |   rows that failed so far
 *  found[w]:    | index << 32 | slot: long | ...               |   a GET's or REMOVE's slots, chunk after chunk
 * </pre>
 */
final class MapThreads implements AutoCloseable {
    /** Waits inside a call (for the caller or another thread) spin this many times, then yield. */
    private static final int SPINS = 20_000;
    /** Idle threads spin this long after a call before they park. */
    static final long SPIN_NANOS = 50_000;
    private static final int PAD = 16;
    /**
     * A mapping thread looks for an opened copy after every this many of its rows, so that a copy
     * the caller waits on is not held up by a whole chunk of mapping (16,131 rows at dim 64, of
     * which a thread's share is ~2,000 map operations: tens of microseconds).
     */
    static final int SLICE = 256;
    /**
     * Whether map threads sort each chunk's rows by stripe ({@link RowSlotStripes#partition}), or
     * each walk every row of a chunk to pick its own as before ({@code -Dember.hot.sortByStripe=false}):
     * sorting computes each row's stripe once but makes the threads meet at every chunk, which
     * costs where they share cores with other work (see {@link #run}).
     */
    static final boolean SORTS = !"false".equals(System.getProperty("ember.hot.sortByStripe"));

    /** Mapping threads first ({@code step} of them, none when 1), then the copy threads. */
    private final Thread[] threads;
    private final int step;
    /** Threads that share a call's copies: the mapping threads and the copy threads. */
    private final int sharers;
    private final AtomicLongArray progress;
    private final AtomicLongArray copied;
    private final int[] failures;
    private final int minRows;
    /** Calls handed to the threads, and calls the threads ran (each thread counts each call it runs). */
    private final LongAdder handed = new LongAdder();
    private final LongAdder ran = new LongAdder();
    private final LongAdder copierRuns = new LongAdder();
    private RowSlotStripes call;
    /** Whether the call at hand runs on the caller alone. */
    private boolean inline;
    /** Each thread's row indices of the chunk at hand (the caller's is the last). */
    private final int[][] mine;
    /**
     * Each thread's finds (GET, REMOVE) in the call at hand, chunk after chunk: {@code row index << 32 | slot}
     * (slot -1: the row failed). Kept apart so that no two threads write one cache line of the
     * call's slots: scattered by stripe, every line of them was written by every thread.
     */
    private final long[][] found;
    /** {@code ends[w][k]}: thread {@code w}'s finds in {@code found[w]} through chunk {@code k}. */
    private final int[][] ends;
    /**
     * Each mapping thread's slices of the call's chunks, sorted by stripe
     * ({@link RowSlotStripes#partition}), chunk {@code k}'s from {@code k * sliceCap(call)}:
     * <pre>
     *  sorted[w]: | chunk 0: stripe 0's indices | stripe 1's | ... | (pad) | chunk 1: ... |
     *  bounds[w]: | chunk 0: step + 1 ints, where each stripe's begin, then the end | chunk 1: ... |
     * </pre>
     */
    private final int[][] sorted;
    private final int[][] bounds;
    /** Each mapping thread's scratch for its counting sort. */
    private final int[][] counts;
    /** Chunks each mapping thread has sorted (padded as {@code progress}). */
    private final AtomicLongArray partitioned;
    /** Chunks whose finds the caller has placed in the call's slots. */
    private int placed;
    private volatile int generation;
    /**
     * Calls with copies published to the copy threads. Apart from {@link #generation}: the caller
     * waits for the copy threads only in such calls, so a copy thread woken by a call without
     * copies could still be reading {@link #call} when the next call replaced it.
     */
    private volatile int copyGeneration;
    /** Chunks whose staging the threads may fill (the caller opens one when the device is done with it). */
    private volatile int stagingOpen;
    private volatile boolean closed;

    /** {@code count} threads (a power of two; 1: none) for calls of at least {@code minRows} rows. */
    MapThreads(int count, int minRows, String name) {
        this(count, 0, minRows, name);
    }

    /**
     * {@code count} mapping threads (a power of two; 1: none) and {@code copiers} threads that
     * only copy rows between a caller's plain buffer and the staging (none without mapping
     * threads), for calls of at least {@code minRows} rows. Why copy threads: a mapping thread
     * that also copies does the two one after the other (on an H100 host a plain demotion took
     * 6.95 ms where the row-buffer one took 4.82), while the copy engine needs 1.3 ms at dim 64.
     */
    MapThreads(int count, int copiers, int minRows, String name) {
        if (Integer.bitCount(count) != 1) {
            throw new IllegalArgumentException("map threads must be a power of two, got " + count);
        }
        if (copiers < 0) {
            throw new IllegalArgumentException("copy threads must be >= 0, got " + copiers);
        }
        if (minRows < 0) {
            throw new IllegalArgumentException("rows before map threads are woken must be >= 0, got " + minRows);
        }
        this.minRows = minRows;
        step = count;
        int mappers = count == 1 ? 0 : count;
        int all = mappers == 0 ? 0 : mappers + copiers;
        sharers = Math.max(1, all);
        progress = new AtomicLongArray(Math.max(1, all) * PAD);
        copied = new AtomicLongArray(Math.max(1, all) * PAD);
        failures = new int[count * PAD];
        mine = new int[count + 1][0];
        found = new long[count][0];
        ends = new int[count][0];
        sorted = new int[count][0];
        bounds = new int[count][0];
        counts = new int[count][count];
        partitioned = new AtomicLongArray(count * PAD);
        threads = new Thread[all];
        for (int w = 0; w < threads.length; w++) {
            final int id = w;
            threads[w] = new Thread(() -> loop(id), name + (w < mappers ? "-" : "-copy-") + w);
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

    /** Calls the mapping threads have run, summed over threads (a call handed to T threads counts T). */
    long ran() {
        return ran.sum();
    }

    /** Calls whose copies the copy threads shared, summed over copy threads. */
    long copierRuns() {
        return copierRuns.sum();
    }

    /** Copy threads (beside the mapping threads). */
    int copiers() {
        return sharers - Math.max(1, mappers());
    }

    private int mappers() {
        return Math.min(step, threads.length);
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
            partitioned.set(w * PAD, 0);
            failures[w * PAD] = 0;
        }
        for (int w = 0; w < sharers; w++) {
            copied.set(w * PAD, 0);
        }
        stagingOpen = 0;
        placed = 0;
        inline = threads.length == 0 || stripes.count() < minRows;
        if (inline) {
            return;
        }
        handed.increment();
        boolean copiersToo = stripes.copies() && sharers > mappers();
        if (copiersToo) {
            copyGeneration = copyGeneration + 1; // publishes the call to the copy threads
        }
        generation = generation + 1; // publishes the call
        for (int w = 0, n = copiersToo ? threads.length : mappers(); w < n; w++) {
            LockSupport.unpark(threads[w]);
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
        awaitAll(copied, threads.length, k);
    }

    /** Waits until threads {@code [0, n)} have counted past {@code k}. */
    private void awaitAll(AtomicLongArray counters, int n, int k) {
        for (int w = 0; w < n; w++) {
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
        awaitAll(progress, step, k);
        place(k);
        boolean failed = false;
        for (int w = 0; w < step; w++) {
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
            awaitAll(progress, step, chunks - 1);
            if (call.copies()) {
                awaitAll(copied, threads.length, chunks - 1);
            }
            place(chunks - 1);
        }
        boolean failed = false;
        for (int w = 0; w < step; w++) {
            failed |= failures[w * PAD] > 0;
        }
        return failed;
    }

    /**
     * Places the threads' finds of chunks up to {@code k} (all done) in the call's slots: on the
     * caller, one chunk at a time while the device copies earlier ones (~1 ns a row: reads in
     * order, writes within the chunk's slots, which stay in this core's cache).
     */
    private void place(int k) {
        if (!call.finds()) {
            return;
        }
        for (; placed <= k; placed++) {
            for (int w = 0; w < step; w++) {
                int[] e = ends[w];
                call.place(found[w], placed == 0 ? 0 : e[placed - 1], e[placed]);
            }
        }
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
            int g = w < step ? generation : copyGeneration;
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
            if (w < step) {
                ran.increment(); // before the progress below publishes it
                run(w, c);
            } else {
                copierRuns.increment();
                copy(w, c);
            }
            idleSince = System.nanoTime();
        }
    }

    /**
     * Thread {@code w}'s share of call {@code c}: copies (gated by {@link #copyChunk}: the caller
     * waits on them) come first whenever one is open; then sorting its slice of the next chunk by
     * stripe (at most one chunk ahead of its mapping); mapping fills the time between them, a
     * slice of {@value #SLICE} rows at a time, each chunk once every thread has sorted its slice
     * of it (a promotion's mapping needs no staging; a demotion's drains need the mapping of later
     * chunks to have been issued).
     */
    private void run(int w, RowSlotStripes c) {
        int i = w * PAD;
        int chunks = c.chunks();
        int kc = c.copies() ? 0 : chunks;
        int kp = SORTS ? 0 : chunks; // walking threads sort nothing
        int km = 0;
        int sliceCap = c.chunkRows() / step + 1;
        int stride = step + 1;
        if (sorted[w].length < chunks * sliceCap) {
            sorted[w] = new int[Math.max(chunks * sliceCap, 2 * sorted[w].length)]; // read by others after partitioned below
        }
        if (bounds[w].length < chunks * stride) {
            bounds[w] = new int[Math.max(chunks * stride, 2 * bounds[w].length)];
        }
        boolean finds = c.finds();
        if (finds && ends[w].length < chunks) {
            ends[w] = new int[Math.max(chunks, 2 * ends[w].length)];
        }
        long[] out = found[w];
        int at = 0;
        boolean ready = !SORTS; // every thread has sorted its slice of chunk km
        int seg = 0; // the thread whose slice of chunk km is being mapped
        int pos = -1; // where in that slice, once begun
        int walked = 0; // walking: this thread's rows of chunk km, in mine
        int[] mine = SORTS ? null : mine(w, c);
        for (int wait = 0; kc < chunks || km < chunks; ) {
            if (kc < chunks && stagingOpen > kc) {
                c.copy(w, sharers, kc);
                copied.set(i, ++kc); // publishes the copied bytes
                wait = 0;
            } else if (kp < chunks && kp <= km + 1) {
                c.partition(w, step, kp, sorted[w], kp * sliceCap, bounds[w], kp * stride, counts[w]);
                partitioned.set(i, ++kp); // publishes the sorted slice
                wait = 0;
            } else if (km < chunks && (ready || (ready = allPartitioned(km)))) {
                if (seg == 0 && pos < 0) {
                    int rows = 0;
                    if (SORTS) {
                        for (int v = 0; v < step; v++) {
                            rows += bounds[v][km * stride + w + 1] - bounds[v][km * stride + w];
                        }
                    } else {
                        rows = walked = c.share(w, step, km, mine);
                    }
                    if (finds && at + rows > out.length) {
                        // Grows to the largest share seen, then never again. Both arrays hold the
                        // chunks before, so the caller may place those from either.
                        out = java.util.Arrays.copyOf(out, Math.max(at + rows, 2 * out.length));
                        found[w] = out; // the caller reads it after the progress below
                    }
                }
                int[] from = SORTS ? sorted[seg] : mine;
                int end = SORTS ? bounds[seg][km * stride + w + 1] : walked;
                if (pos < 0) {
                    pos = SORTS ? bounds[seg][km * stride + w] : 0;
                }
                int to = Math.min(end, pos + SLICE);
                failures[i] += c.apply(from, pos, to, finds ? out : null, at);
                if (finds) {
                    at += to - pos;
                }
                pos = to;
                if (pos == end) {
                    pos = -1;
                    if (!SORTS || ++seg == step) {
                        seg = 0;
                        ready = !SORTS;
                        if (finds) {
                            ends[w][km] = at;
                        }
                        progress.set(i, ++km); // publishes the chunk's finds (or a PUT's mapping), flags and failures
                    }
                }
                wait = 0;
            } else if (kp < chunks) {
                // Waiting for another thread's slice: sort later chunks meanwhile, so that a thread
                // held up (descheduled, say) holds the others up less from then on.
                c.partition(w, step, kp, sorted[w], kp * sliceCap, bounds[w], kp * stride, counts[w]);
                partitioned.set(i, ++kp);
                wait = 0;
            } else if (wait++ < SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    private boolean allPartitioned(int k) {
        for (int v = 0; v < step; v++) {
            if (partitioned.get(v * PAD) <= k) {
                return false;
            }
        }
        return true;
    }

    /** Copy thread {@code w}'s share of call {@code c}'s copies, chunk by chunk as the caller opens them. */
    private void copy(int w, RowSlotStripes c) {
        int i = w * PAD;
        int chunks = c.chunks();
        for (int kc = 0, wait = 0; kc < chunks; ) {
            if (stagingOpen > kc) {
                c.copy(w, sharers, kc);
                copied.set(i, ++kc); // publishes the copied bytes
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
