package dev.ember.cache.cold;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed number of partitions of an index range, run on {@code threads} threads (the caller is
 * one of them). Partition {@code p} of {@code n} items is always {@code [p*n/P, (p+1)*n/P)} and
 * always uses scratch {@code p}: work on distinct rows in distinct partitions gives results that
 * do not depend on the thread count.
 *
 * <p>One {@link #run} uses the pool's threads at a time; small ranges, and a caller that finds the
 * pool busy, run on the caller alone.
 */
public final class WorkerPool implements AutoCloseable {
    /** Items below which handing work to other threads costs more than it saves. */
    private static final int MIN_ITEMS_PER_THREAD = 64;

    /** Work over one partition of an index range. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int partition, int from, int to);
    }

    private final int threads;
    private final Thread[] workers;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile RangeTask task;
    private volatile int items;
    private volatile int parts;
    private volatile CountDownLatch done;
    private volatile boolean closed;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final long[] generation;
    private volatile long currentGeneration;

    public WorkerPool(int threads, String name) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads + " (StoreConfig.threads)");
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        this.generation = new long[threads];
        for (int i = 0; i < workers.length; i++) {
            int partition = i + 1;
            Thread t = new Thread(() -> loop(partition), name + "-" + partition);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Ids of the pool's own threads (the caller is the other one): for measuring CPU time. */
    public long[] workerThreadIds() {
        long[] ids = new long[workers.length];
        for (int i = 0; i < workers.length; i++) {
            ids[i] = workers[i].getId();
        }
        return ids;
    }

    /** Runs {@code task} over {@code [0, n)} split into {@link #threads()} fixed partitions. */
    public void run(int n, RangeTask task) {
        if (n <= 0) {
            return;
        }
        int p = threads;
        // Small ranges, and callers that find the pool busy (tables worked on at once by other
        // threads), run the same partitions in order on the caller: nothing of the pool is used,
        // and each caller has its own scratch (one table each).
        if (p == 1 || n < MIN_ITEMS_PER_THREAD * 2 || !lock.tryLock()) {
            for (int i = 0; i < p; i++) {
                task.run(i, from(i, n, p), from(i + 1, n, p));
            }
            return;
        }
        try {
            this.task = task;
            this.items = n;
            this.parts = p;
            CountDownLatch latch = new CountDownLatch(p - 1);
            this.done = latch;
            currentGeneration++;
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            Throwable own = null;
            try {
                task.run(0, 0, from(1, n, p));
            } catch (Throwable t) {
                own = t;
            }
            boolean interrupted = false;
            while (true) {
                try {
                    latch.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            this.task = null;
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            Throwable other = failure.getAndSet(null);
            Throwable first = own != null ? own : other;
            if (first instanceof RuntimeException) {
                throw (RuntimeException) first;
            }
            if (first instanceof Error) {
                throw (Error) first;
            }
            if (first != null) {
                throw new IllegalStateException(first);
            }
        } finally {
            lock.unlock();
        }
    }

    private static int from(int partition, int n, int parts) {
        return (int) ((long) partition * n / parts);
    }

    private void loop(int partition) {
        while (!closed) {
            long gen = currentGeneration;
            if (gen == generation[partition]) {
                LockSupport.park(this);
                continue;
            }
            generation[partition] = gen;
            RangeTask t = task;
            int n = items;
            int p = parts;
            CountDownLatch latch = done;
            try {
                t.run(partition, from(partition, n, p), from(partition + 1, n, p));
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            } finally {
                latch.countDown();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
