package dev.ember.trainer.model.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed pool that runs {@code task.run(0..count-1)} across its threads and the caller, and
 * returns when all are done. No allocation per call: tasks are long-lived objects, indices are
 * claimed from one atomic ticket, waiting is spin-then-park.
 *
 * <p>The ticket packs {@code (generation << 32) | nextIndex}, so a worker still finishing one
 * call can never claim an index of the next one.
 */
final class ChunkRunner implements AutoCloseable {
    /** Work split into indexed pieces; each index is run exactly once per {@link #run} call. */
    interface Task {
        void run(int index);
    }

    private static final int SPINS = 2_000;

    private final Thread[] workers;
    private final AtomicLong ticket = new AtomicLong();
    private final AtomicInteger done = new AtomicInteger();
    private volatile Task task;
    private volatile int count;
    private volatile int generation;
    private volatile Thread caller;
    private volatile Throwable failure;
    private volatile boolean closed;

    /** A pool of {@code threads} threads in all, the caller included. */
    ChunkRunner(int threads, String name) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Thread(this::workerLoop, name + "-" + (i + 1));
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    int threads() {
        return workers.length + 1;
    }

    /** Runs {@code task} for every index in {@code [0, count)} and waits for all of them. */
    void run(Task task, int count) {
        if (closed) {
            throw new IllegalStateException("the CPU backend is closed");
        }
        if (workers.length == 0 || count <= 1) {
            for (int i = 0; i < count; i++) {
                task.run(i);
            }
            return;
        }
        // The new ticket goes first: a worker still holding the previous generation must not
        // see this call's count beside the previous call's exhausted ticket, or it claims an
        // index of this call under the old generation (seen on 16 cores: an index run twice).
        int g = generation + 1;
        ticket.set((long) g << 32);
        done.set(0);
        this.task = task;
        this.count = count;
        this.caller = Thread.currentThread();
        failure = null;
        generation = g; // publishes the fields above
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        work(g, task, count);
        for (int spins = 0; done.get() < count; spins++) {
            if (spins < SPINS) {
                Thread.onSpinWait();
            } else {
                LockSupport.park(this);
            }
        }
        Throwable f = failure;
        if (f != null) {
            throw new IllegalStateException("a CPU backend task failed", f);
        }
    }

    private void work(int g, Task t, int n) {
        while (true) {
            long v = ticket.get();
            int index = (int) v;
            if ((int) (v >>> 32) != g || index >= n) {
                return;
            }
            if (!ticket.compareAndSet(v, v + 1)) {
                continue;
            }
            try {
                t.run(index);
            } catch (Throwable e) {
                failure = e;
            }
            if (done.incrementAndGet() == n) {
                LockSupport.unpark(caller);
            }
        }
    }

    private void workerLoop() {
        int seen = 0;
        int spins = 0;
        while (!closed) {
            int g = generation;
            if (g == seen) {
                if (spins++ < SPINS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
                continue;
            }
            seen = g;
            spins = 0;
            work(g, task, count);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        for (Thread w : workers) {
            try {
                w.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
