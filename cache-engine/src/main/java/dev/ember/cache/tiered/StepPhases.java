package dev.ember.cache.tiered;

import java.util.concurrent.atomic.LongAdder;

/**
 * Step-thread nanoseconds a {@link TieredStore} spent in each part of its steps, summed since it
 * opened: what bounds a tiered mode's speed, read after a run (the trainer logs it).
 */
public final class StepPhases {
    /** Submit: deduplication and hot/cold split (per-table threads), starting cold reads. */
    public final LongAdder submit = new LongAdder();
    /** Gather: waiting for this batch's cold reads (or reading them). */
    public final LongAdder coldReads = new LongAdder();
    /** Gather: staging misses into spare hot slots. */
    public final LongAdder stage = new LongAdder();
    /** Gather: the hot tier's pooled gathers (host-side translation and launches). */
    public final LongAdder gather = new LongAdder();
    /** Apply: the hot tier's apply launches. */
    public final LongAdder apply = new LongAdder();
    /** Apply: reading staged misses back from their slots (waits for the device's queue). */
    public final LongAdder unstage = new LongAdder();
    /**
     * Apply: handing the misses to the write-behind thread and the unique ids to the counting
     * thread (copied); with {@code -Dember.count.behind=false} counting them here (per-table threads).
     */
    public final LongAdder writeBack = new LongAdder();
    /** Step boundaries: the knob and chunked moves. */
    public final LongAdder moves = new LongAdder();
    /** Step boundaries that took more than 1 ms (re-tiering's stall target), and the longest one. */
    public final LongAdder slowBoundaries = new LongAdder();
    public final java.util.concurrent.atomic.LongAccumulator longestBoundary =
            new java.util.concurrent.atomic.LongAccumulator(Math::max, 0);

    /** Records one step boundary's time. */
    void boundary(long nanos) {
        moves.add(nanos);
        if (nanos > 1_000_000) {
            slowBoundaries.increment();
        }
        longestBoundary.accumulate(nanos);
    }

    /** One line: each part in milliseconds per step over {@code steps} steps. */
    public String perStep(long steps) {
        double n = Math.max(1, steps) * 1e6;
        return String.format("submit %.3f, cold reads %.3f, stage %.3f, gather %.3f, apply %.3f, unstage %.3f, "
                        + "write-back %.3f, moves %.3f ms per step; %d step boundaries over 1 ms, the longest %.3f ms",
                submit.sum() / n, coldReads.sum() / n, stage.sum() / n, gather.sum() / n, apply.sum() / n,
                unstage.sum() / n, writeBack.sum() / n, moves.sum() / n, slowBoundaries.sum(), longestBoundary.get() / 1e6);
    }
}
