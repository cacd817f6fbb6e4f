package dev.ember.gpu.tiered;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The mover's one thread, lagging by steps rather than by time: a task handed over while the test
 * is at step {@code s} runs once it has reached step {@code s + lag} ({@link #at}; a lag of 2 unless
 * {@link #lag} says otherwise), or at once after {@link #release}. So a chunk planned at a boundary
 * is published {@code lag} boundaries later at the earliest, after the batch that wrote its rows
 * meanwhile has been submitted again, whatever the machine's speed. Release before anything waits
 * for the chunk (a checkpoint, closing the store).
 */
final class StepLaggedMoves extends ThreadPoolExecutor {
    private final AtomicLong step = new AtomicLong();
    private volatile long lag = 2;
    private volatile boolean released;

    StepLaggedMoves() {
        super(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>());
    }

    /** The test's step now (call it before each step). */
    void at(long s) {
        step.set(s);
    }

    /** Tasks run at once from now on, those waiting too. */
    void release() {
        released = true;
    }

    /** Tasks handed over from now on lag {@code steps} steps (Long.MAX_VALUE: until released). */
    void lag(long steps) {
        lag = steps;
        released = false;
    }

    @Override
    public void execute(Runnable task) {
        long due = lag == Long.MAX_VALUE ? Long.MAX_VALUE : step.get() + lag;
        super.execute(() -> {
            while (!released && step.get() < due && !isShutdown()) {
                LockSupport.parkNanos(100_000);
            }
            task.run();
        });
    }
}
