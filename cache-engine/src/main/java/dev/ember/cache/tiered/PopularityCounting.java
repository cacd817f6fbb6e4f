package dev.ember.cache.tiered;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.popularity.DecayingCounters;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * A tiered store's popularity counting, behind the steps: the step thread hands each applied
 * batch's deduplicated ids and each step mark over, in order, and one counting thread of its own
 * records them into the {@link DecayingCounters} in that order (a batch's tables spread over
 * its own {@link TableWorkers}, as the step thread used to). The counters get exactly the calls,
 * in exactly the order, that counting on the step thread gave them, so their bits, the knob's
 * choices and the hot sets do not change.
 *
 * <p><b>Who holds the counters.</b> The counting thread, while it has work; the step thread,
 * once {@link #drain()} has returned and until it hands over the next batch or step: everything
 * that reads or freezes the counts (the knob's evaluation, checkpoints, the profiler, a caller of
 * {@code TieredStore.popularity()}) drains first. Each drain that finds work left is a wait of
 * the step thread, counted ({@link #waitNanos()}), as is a handover that finds the ring full.
 * The knob's evaluations do not drain: the step thread hands their start over as an operation
 * ({@link #runAfterCounts}), and the counting thread runs it, in order, right after the batches
 * and step mark before it: the counts it freezes are exactly those of the evaluation's step.
 *
 * <p><b>Why copy the ids.</b> A batch's {@link DedupedIds} are rebuilt at its next submit, which
 * with one batch in flight (fae) comes right after its apply: counting from them would make that
 * submit wait. A handover copies them (about 12K unique ids a step on the Criteo-shaped runs:
 * 150 KB, tens of microseconds) into buffers made once, so a batch is free again at once.
 *
 * <pre>
 *  ring of ops operations, operation i at slot i &amp; (ops - 1):
 *   stepOf[k]          the step a step mark moves the clock to; COUNT for a batch
 *   opSlot[k], a batch: one of BATCH_SLOTS slots, used in turn:
 *                       per table t: unique[t]   | u0 u1 ... |        n[t] unique ids (maxIds made)
 *                                    occStart[t] | 0 o1 ... o_n |   occurrences, prefix sums
 *  tail (step thread) &gt;= published (volatile) &gt;= done (volatile) &gt;= operations counted
 * </pre>
 * Memory: {@link #BATCH_SLOTS} x tables x (maxIds + 1) x 12 bytes, on the heap like the batches'
 * own deduplications, made when counting opens (26 tables, batch 2048: 10 MB).
 * With {@code -Dember.count.behind=false} ({@link #BEHIND_PROPERTY}) the step thread counts each
 * batch itself, at its apply, on the step's table threads: the same counts, for comparison.
 */
final class PopularityCounting implements AutoCloseable {
    /** Set to false to count on the step thread, as before (read when a tiered store opens). */
    static final String BEHIND_PROPERTY = "ember.count.behind";
    /** Threads sharing a batch's tables behind the steps, the counting thread included (default: half the store's hostThreads). */
    static final String THREADS_PROPERTY = "ember.count.threads";
    /**
     * Operations handed over and not yet counted, at most ({@code -Dember.count.ring}, a power of
     * two >= 4; default 32: sixteen steps' batches and step marks): a handover that finds the
     * ring full waits for the counting thread, as does a batch's handover that finds every batch
     * slot taken ({@link #BATCH_SLOTS} batches not yet counted). With 8 operations and a slot
     * each (four steps), fae's step thread waited for counting 3-21 ms a run in 4-24 waits, one of
     * them fae's only boundary over 1 ms in four runs; with 32 it did not wait (H200 hosts, fae
     * then cache in one JVM; docs/runs/2026-11-27-H200-ninth, calls 3 and 4).
     */
    static final String RING_PROPERTY = "ember.count.ring";
    /** Batches handed over and not yet counted, at most: their copies (slots), all made when counting opens. */
    static final int BATCH_SLOTS = 16;
    private final int ops = ringSize();
    private final int mask = ops - 1;
    private static final long COUNT = Long.MIN_VALUE;
    /** An operation that runs a task handed over ({@link #runAfterCounts}). */
    private static final long RUN = Long.MIN_VALUE + 1;
    /** About 50 us of spinning before an idle counting thread parks (a step hands over twice). */
    private static final int SPINS = 2_000;
    private static final long WAIT_PARK_NANOS = 10_000;
    /**
     * Whether a step mark ({@link #advanceTo}, at every step boundary) wakes a sleeping counting
     * thread ({@code -Dember.count.wakeAtStepMarks=true}); by default it does not, and the next
     * batch handed over, a knob's evaluation or anything that waits for the counts wakes it: a
     * clock move needs no hurry, and a thread woken at a boundary on a host with no core free
     * took the step thread's (dev box, 2 cores, fae: 3-9 boundaries over 1 ms a run, each
     * waiting 1.2-3.7 ms for a core, against 1-2 counting on the step thread).
     */
    static final boolean WAKE_AT_STEP_MARKS = Boolean.getBoolean("ember.count.wakeAtStepMarks");

    /** The ring's size: {@link #RING_PROPERTY}, else 32; a bad value is refused naming the property. */
    static int ringSize() {
        return dev.ember.cache.settings.Settings.wholeNumber(RING_PROPERTY, 32, n -> n >= 4 && Integer.bitCount(n) == 1,
                "popularity counting's ring needs a power of two >= 4 operations");
    }

    /** One batch's deduplicated ids, copied. */
    private static final class Slot {
        final long[][] unique;
        final int[][] occStart;
        final int[] n;

        Slot(int tables, int maxIds) {
            unique = new long[tables][maxIds];
            occStart = new int[tables][maxIds + 1];
            n = new int[tables];
        }

        void fill(DedupedIds[] dedup) {
            for (int t = 0; t < n.length; t++) {
                DedupedIds d = dedup[t];
                int u = d.uniqueCount();
                if (unique[t].length < u) {
                    unique[t] = new long[u]; // never with the store's batches: maxIds bounds them
                    occStart[t] = new int[u + 1];
                }
                System.arraycopy(d.unique(), 0, unique[t], 0, u);
                System.arraycopy(d.occStart(), 0, occStart[t], 0, u + 1);
                n[t] = u;
            }
        }
    }

    private final DecayingCounters counters;
    private final int tables;
    private final boolean behind;
    /** A batch's tables: the step's threads (on the step thread) or the counting thread's own. */
    private final TableWorkers workers;
    private final Thread thread;
    private final Runnable beforeEachOp;

    private final long[] stepOf = new long[ops];
    /** The batch slot of each batch operation in the ring. */
    private final Slot[] opSlot = new Slot[ops];
    /** The batches' copies, used in turn: slot j is free again once operation slotOp[j] is counted. */
    private final Slot[] slots = new Slot[BATCH_SLOTS];
    private final long[] slotOp = new long[BATCH_SLOTS];
    private long batchTail;
    private final Runnable[] tasks = new Runnable[ops];
    private long tail;
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private volatile boolean sleeping;
    private volatile boolean closing;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    /** The clock handed over last (step thread), checked so that a step going back fails at once. */
    private long clock;
    /** Drained since the last step mark: the counters' own clock is the one to check against. */
    private boolean heldByStepThread = true;

    /** The batch being counted (its tables read it on the workers, published by their run). */
    private Slot current;
    private DedupedIds[] currentDedup;
    private final TableWorkers.TableTask slotTask;
    private final TableWorkers.TableTask dedupTask;
    /** The counters' replay of their log, on the workers (published to them by the workers' run). */
    private java.util.function.IntConsumer replayTask;
    private final TableWorkers.TableTask replayOnWorkers = t -> replayTask.accept(t);

    private final LongAdder waits = new LongAdder();
    private final LongAdder waitNanos = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder tasksRun = new LongAdder();
    private volatile int mostBehind;

    private PopularityCounting(DecayingCounters counters, int tables, int maxIds, TableWorkers workers, boolean behind,
                               Runnable beforeEachOp) {
        this.counters = counters;
        this.tables = tables;
        this.workers = workers;
        this.behind = behind;
        this.beforeEachOp = beforeEachOp;
        this.slotTask = t -> {
            Slot s = current;
            counters.record(t, s.unique[t], s.occStart[t], s.n[t]);
        };
        this.dedupTask = t -> counters.record(t, currentDedup[t]);
        if (behind) {
            for (int j = 0; j < BATCH_SLOTS; j++) {
                slots[j] = new Slot(tables, maxIds);
                slotOp[j] = -1;
            }
            thread = new Thread(dev.ember.cache.threads.BackgroundPriority.lowered(this::loop), "ember-count");
            thread.setDaemon(true);
            thread.start();
            // While the counts are frozen the counting thread logs alone and its workers are idle:
            // the knob's thread replays the log and ranks the tables on them (DecayingCounters.replayOn).
            counters.replayOn((n, task) -> {
                replayTask = task;
                workers.run(n, replayOnWorkers);
            });
        } else {
            thread = null;
        }
    }

    /** Counting on the step thread, at each apply, a batch's tables spread over {@code stepWorkers} (not closed here). */
    static PopularityCounting onStepThread(DecayingCounters counters, int tables, TableWorkers stepWorkers) {
        return new PopularityCounting(counters, tables, 0, stepWorkers, false, null);
    }

    /** Counting behind the steps on a thread of its own, {@code threads} threads in all sharing a batch's tables. */
    static PopularityCounting behind(DecayingCounters counters, int tables, int maxIds, int threads) {
        return behind(counters, tables, maxIds, threads, null);
    }

    /** As above, {@code beforeEachOp} run by the counting thread before each operation (tests make it lag so). */
    static PopularityCounting behind(DecayingCounters counters, int tables, int maxIds, int threads, Runnable beforeEachOp) {
        return new PopularityCounting(counters, tables, maxIds, new TableWorkers(threads, "ember-count", true), true, beforeEachOp);
    }

    /** Whether counting was asked to run behind the steps ({@link #BEHIND_PROPERTY}, default true). */
    static boolean behindAsSet() {
        return Boolean.parseBoolean(System.getProperty(BEHIND_PROPERTY, "true"));
    }

    /**
     * Threads to count behind the steps with: {@link #THREADS_PROPERTY}, else half of
     * {@code hostThreads} (at least one). Half: on the H200 host, {@code cache} trained 2-6% faster
     * with 4 counting threads than with 8 in four pairs of runs side by side, with the same hit
     * rate, and the step thread waited for counting 3-4 ms in a run: counting keeps up, and the
     * cores it leaves go to the write-behind and the step's workers.
     */
    static int threads(int hostThreads) {
        return TableWorkers.threadsAsSet(THREADS_PROPERTY, Math.max(1, hostThreads / 2), "popularity counting");
    }

    /**
     * Step thread: counts an applied batch, each table's unique ids with their occurrences; behind
     * the steps, copies them and returns (the batch may be submitted again at once).
     */
    void count(DedupedIds[] dedup) {
        if (!behind) {
            countNow(null, dedup);
            return;
        }
        int k = claim();
        int j = (int) (batchTail++ % BATCH_SLOTS);
        awaitDone(slotOp[j] + 1); // the batch that used the slot last is counted
        slotOp[j] = tail;
        Slot slot = slots[j];
        slot.fill(dedup);
        opSlot[k] = slot;
        stepOf[k] = COUNT;
        batches.increment();
        int pending = 1;
        for (long i = done.get(); i < tail; i++) {
            pending += stepOf[(int) i & mask] == COUNT ? 1 : 0;
        }
        mostBehind = Math.max(mostBehind, pending);
        publish();
    }

    /** Step thread: later batches count as at {@code step} (never backwards). */
    void advanceTo(long step) {
        if (!behind) {
            counters.advanceTo(step);
            return;
        }
        long now = heldByStepThread ? counters.clock() : clock; // no step mark is pending while held
        if (step < now) {
            throw new IllegalArgumentException("step " + step + " is before the counters' step " + now);
        }
        int k = claim();
        stepOf[k] = step;
        clock = step;
        heldByStepThread = false;
        if (WAKE_AT_STEP_MARKS) {
            publish();
        } else {
            published.set(++tail); // no wake-up: see WAKE_AT_STEP_MARKS
        }
    }

    /**
     * Step thread: runs {@code task} on the counting thread once every batch and step handed over
     * so far is counted, before any handed over later (on this thread at once when counting on
     * the step thread): how the knob's evaluation freezes the counts of its step without a drain.
     * The task runs even after a failure of counting (the knob's choice waits for it); it should
     * catch its own failures (one that escapes is reported as counting's).
     */
    void runAfterCounts(Runnable task) {
        if (!behind) {
            task.run();
            return;
        }
        int k = claim();
        tasks[k] = task;
        stepOf[k] = RUN; // moves no clock: whoever held the counters' clock still does
        publish();
    }

    /**
     * Step thread: waits until every batch and step handed over is counted; the counters are then
     * the step thread's to read, freeze or thaw until it hands over the next.
     */
    void drain() {
        if (behind) {
            awaitDone(tail);
            heldByStepThread = true;
            checkFailure();
        }
    }

    /** The next free slot of the ring (waits while it is full). */
    private int claim() {
        checkFailure();
        awaitDone(tail - ops + 1);
        return (int) tail & mask;
    }

    private void publish() {
        published.set(++tail);
        if (sleeping) {
            LockSupport.unpark(thread); // volatile write then read, against the thread's: no wake-up lost
        }
    }

    private void awaitDone(long upTo) {
        if (done.get() >= upTo) {
            return;
        }
        if (sleeping) {
            LockSupport.unpark(thread); // a step mark handed over without waking it may be what is left
        }
        long start = System.nanoTime();
        for (int spins = 0; done.get() < upTo; spins++) {
            if (spins < SPINS) {
                Thread.onSpinWait();
            } else if (spins < 2 * SPINS) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(WAIT_PARK_NANOS);
            }
        }
        waits.increment();
        waitNanos.add(System.nanoTime() - start);
    }

    private void checkFailure() {
        Throwable e = failure.get();
        if (e != null) {
            throw new IllegalStateException("popularity counting behind the steps failed (" + e
                    + "); the counters missed batches since (-D" + BEHIND_PROPERTY + "=false counts on the step thread)", e);
        }
    }

    private void loop() {
        long head = 0;
        int spins = 0;
        while (true) {
            long end = published.get();
            if (head == end) {
                if (closing) {
                    return;
                }
                if (spins++ < SPINS) {
                    Thread.onSpinWait();
                    continue;
                }
                sleeping = true;
                if (published.get() == head && !closing) {
                    LockSupport.park(this);
                }
                sleeping = false;
                continue;
            }
            spins = 0;
            while (head < end) {
                run((int) head & mask);
                done.set(++head);
            }
        }
    }

    /** Counting thread: operation {@code k}; after a failure nothing more is counted (the step thread hears of it). */
    private void run(int k) {
        long s = stepOf[k];
        if (s == RUN) {
            Runnable task = tasks[k];
            tasks[k] = null;
            try {
                if (beforeEachOp != null) {
                    beforeEachOp.run();
                }
                task.run();
                tasksRun.increment();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
            return;
        }
        if (failure.get() != null) {
            return;
        }
        try {
            if (beforeEachOp != null) {
                beforeEachOp.run();
            }
            if (s == COUNT) {
                countNow(opSlot[k], null);
            } else {
                counters.advanceTo(s);
            }
        } catch (Throwable e) {
            failure.compareAndSet(null, e);
        }
    }

    /**
     * One batch, from a slot or a batch's own deduplication: tables at once while the counts are
     * live, in table order while they are frozen (the log is one sequence).
     */
    private void countNow(Slot s, DedupedIds[] dedup) {
        if (!counters.frozen()) {
            current = s;
            currentDedup = dedup;
            workers.run(tables, s != null ? slotTask : dedupTask);
            current = null;
            currentDedup = null;
            return;
        }
        for (int t = 0; t < tables; t++) {
            if (s != null) {
                counters.record(t, s.unique[t], s.occStart[t], s.n[t]);
            } else {
                counters.record(t, dedup[t]);
            }
        }
    }

    /** Times the step thread found counting behind when it needed the counters or a free slot. */
    long waits() {
        return waits.sum();
    }

    /** Step-thread nanoseconds spent in those waits. */
    long waitNanos() {
        return waitNanos.sum();
    }

    /** Batches handed over to be counted behind the steps. */
    long batchesBehind() {
        return batches.sum();
    }

    /** Tasks run after the counts ({@link #runAfterCounts}) on the counting thread. */
    long tasksRun() {
        return tasksRun.sum();
    }

    /** The most batches handed over and not yet counted at once (the last one included). */
    int mostBehind() {
        return mostBehind;
    }

    /** Whether the counting thread is parked, out of work (tests). */
    boolean countingThreadAsleep() {
        return behind && sleeping;
    }

    /** One line for a run's log. */
    String describe() {
        if (!behind) {
            return "popularity counted on the step thread (-D" + BEHIND_PROPERTY + "=false)";
        }
        return String.format("popularity counted behind the steps (%d batches, at most %d at once, %d threads; %d knob"
                + " evaluations started there): the step thread waited %.3f ms for it in %d waits", batchesBehind(), mostBehind,
                workers.threads(), tasksRun.sum(), waitNanos() / 1e6, waits());
    }

    /** Counts what was handed over, then stops the counting threads (step thread). */
    @Override
    public void close() {
        if (!behind || closing) {
            return;
        }
        closing = true;
        LockSupport.unpark(thread);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            workers.close();
        }
    }
}
