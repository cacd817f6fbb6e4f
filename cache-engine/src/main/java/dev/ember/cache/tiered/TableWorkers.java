package dev.ember.cache.tiered;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A step's per-table host work (deduplication, hot/cold split, write-back of staged rows) spread
 * over a few persistent threads, the caller being one of them. Tables are claimed one at a time
 * from a counter, so a large table does not hold up the small ones. One run at a time, from the
 * step thread: {@link #run} returns when every table is done; {@link #start} returns at once and
 * the threads work behind the caller until {@link #awaitStarted} (or the next run) joins them.
 *
 * <p>Why not an executor: a step runs two or three of these over 26 tables; futures and task
 * objects per table per step would be garbage on the hot path, and an idle thread here spins for
 * a short while (a step's runs come within microseconds of each other) before it parks.
 *
 * <pre>
 *  ticket: | run number (32 bits) | next table to claim (32 bits) |
 * </pre>
 * A thread claims a table by a compare-and-set on the ticket of the run it saw, checked against
 * that run's stamped table count, so a thread still leaving one run can never claim (or lose) a
 * table of the next.
 */
final class TableWorkers implements AutoCloseable {
    /** Work on one table. */
    @FunctionalInterface
    interface TableTask {
        void run(int table);
    }

    /**
     * Idle spins of a step pool's threads before they park ({@code -Dember.workers.spins}, default
     * 0: park at once; 2000 is about 50 us). In {@code cache} the host's cores are the bound, and
     * a spinning thread takes a core from the write-behind and the counting: on an H200 host,
     * {@code cache} alone ran 1.95M / 1.83M samples/s with 0 against 1.91M / 1.79M with 2000 and
     * 1.82M / 1.79M with 500, alternated (docs/runs/2026-11-27-H200-seventh/call4-spins-1340426);
     * on another, 1.80M / 1.81M against 1.75M / 1.84M, and {@code device} 3.22M either way (call5).
     */
    private static final int SPINS = Integer.getInteger("ember.workers.spins", 0);
    /**
     * The same for pools behind the steps (write-behind, popularity counting;
     * {@code -Dember.background.spins}, default 0: park at once). Nothing waits on their
     * threads' wake-up, and on the H200 host their spinning took cores from the step's own
     * threads: {@code cache} ran 3% and 4% faster than with 2000 spins here, alternated twice.
     */
    private static final int BACKGROUND_SPINS = Integer.getInteger("ember.background.spins", 0);
    /**
     * How a run wakes the parked threads: the caller wakes the first and each woken thread {@code
     * k} wakes threads {@code 2k + 1} and {@code 2k + 2}, so the caller makes one wake-up call (a
     * system call each) rather than one a thread, and the last thread is up after three hops of
     * seven. {@code -Dember.workers.wakeAll=true}: the caller wakes them all (for comparison).
     */
    private static final boolean WAKE_ALL = Boolean.getBoolean("ember.workers.wakeAll");

    private final Thread[] threads;
    /** Idle spins of this pool's threads before they park. */
    private final int spins;
    private final AtomicLong ticket = new AtomicLong();
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile TableTask task;
    /** The run's table count, stamped with its run number: | run (32 bits) | tables (32 bits) |. */
    private volatile long counts;
    private volatile boolean closed;
    /** The {@link #start}ed run not yet joined (caller's fields): its number and table count (0: none). */
    private long startedRun;
    private int startedCount;

    /** {@code threads} threads in all, the caller included (1: the caller alone). */
    TableWorkers(int threads, String name) {
        this(threads, name, false);
    }

    /**
     * As above; {@code background}: the threads lower their OS priority (work behind the steps,
     * see {@link dev.ember.cache.threads.BackgroundPriority}). The caller's priority is its own.
     */
    TableWorkers(int threads, String name, boolean background) {
        this(threads, name, background, background);
    }

    /** As above, with the threads' priority lowered or not apart from their spinning ({@code background}). */
    TableWorkers(int threads, String name, boolean background, boolean lowered) {
        if (threads < 1) {
            throw new IllegalArgumentException("host threads must be >= 1, got " + threads + " (TieredConfig.hostThreads)");
        }
        this.threads = new Thread[threads - 1];
        this.spins = background ? BACKGROUND_SPINS : SPINS;
        for (int i = 0; i < this.threads.length; i++) {
            int index = i;
            Runnable loop = () -> loop(index);
            Thread t = new Thread(lowered ? dev.ember.cache.threads.BackgroundPriority.lowered(loop) : loop,
                    name + "-" + (i + 1));
            t.setDaemon(true);
            this.threads[i] = t;
            t.start();
        }
    }

    /**
     * A pool's thread count from system property {@code property} (a whole number >= 1), else
     * {@code otherwise}; a bad value is refused naming the property and {@code what} the pool does.
     */
    static int threadsAsSet(String property, int otherwise, String what) {
        return dev.ember.cache.settings.Settings.wholeNumber(property, otherwise, n -> n >= 1,
                what + " needs a whole number of threads >= 1");
    }

    /** Threads in all, the caller included. */
    int threads() {
        return threads.length + 1;
    }

    /** Runs {@code work} for tables {@code 0..n-1}; rethrows the first failure after all tables ran. */
    void run(int n, TableTask work) {
        awaitStarted();
        if (threads.length == 0 || n <= 1) {
            for (int t = 0; t < n; t++) {
                work.run(t);
            }
            return;
        }
        long run = publish(n, work);
        claim(run);
        finish(n);
    }

    /**
     * Starts {@code work} for tables {@code 0..n-1} on the threads and returns: the caller goes on
     * with other work. {@link #awaitStarted} joins it (the caller takes the tables not yet
     * claimed); the next {@link #run} or start does first. With no threads it runs here and now.
     */
    void start(int n, TableTask work) {
        awaitStarted();
        if (threads.length == 0 || n == 0) {
            for (int t = 0; t < n; t++) {
                work.run(t);
            }
            return;
        }
        startedRun = publish(n, work);
        startedCount = n;
    }

    /** Whether a {@link #start}ed run is still to be joined. */
    boolean started() {
        return startedCount > 0;
    }

    /** Joins the {@link #start}ed run, if any: returns once its tables are done, rethrowing its first failure. */
    void awaitStarted() {
        int n = startedCount;
        if (n == 0) {
            return;
        }
        startedCount = 0;
        claim(startedRun);
        finish(n);
    }

    private long publish(int n, TableTask work) {
        task = work;
        done.set(0);
        long run = (ticket.get() >>> 32) + 1;
        counts = (run << 32) | n;
        ticket.set(run << 32); // publishes task and counts with the new run
        if (WAKE_ALL) {
            for (Thread t : threads) {
                LockSupport.unpark(t);
            }
        } else {
            LockSupport.unpark(threads[0]); // threads.length > 0 here: it wakes the rest
        }
        return run;
    }

    private void finish(int n) {
        for (int waited = 0; done.get() < n; waited++) {
            if (waited < SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        task = null;
        Throwable first = failure.getAndSet(null);
        if (first instanceof RuntimeException e) {
            throw e;
        }
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) {
            throw new IllegalStateException(first);
        }
    }

    private void claim(long run) {
        while (true) {
            long v = ticket.get();
            long c = counts;
            // A newer run's counts mean ours is over (a stale count could let a thread claim a
            // table of the new run before its ticket is out, and run it twice).
            if (v >>> 32 != run || c >>> 32 != run || (int) v >= (int) c) {
                return;
            }
            if (!ticket.compareAndSet(v, v + 1)) {
                continue;
            }
            int t = (int) v;
            try {
                task.run(t);
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            } finally {
                done.incrementAndGet();
            }
        }
    }

    /** Thread {@code index} of {@link #threads}: wakes its two in the tree for each new run, then claims tables. */
    private void loop(int index) {
        long seen = 0;
        int idle = 0;
        while (!closed) {
            long g = ticket.get() >>> 32;
            if (g == seen) {
                if (idle++ < spins) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
                continue;
            }
            seen = g;
            idle = 0;
            if (!WAKE_ALL) {
                for (int next = 2 * index + 1; next <= 2 * index + 2 && next < threads.length; next++) {
                    LockSupport.unpark(threads[next]);
                }
            }
            claim(g);
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
