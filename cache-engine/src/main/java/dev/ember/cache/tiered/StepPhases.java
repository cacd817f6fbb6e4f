package dev.ember.cache.tiered;

import java.util.concurrent.atomic.LongAdder;

/**
 * Step-thread nanoseconds a {@link TieredStore} spent in each part of its steps, summed since it
 * opened: what bounds a tiered mode's speed, read after a run (the trainer logs it).
 */
public final class StepPhases {
    /** Submit: deduplication, hot/cold split and starting cold reads (per-table threads), starting the index arrays' staging. */
    public final LongAdder submit = new LongAdder();
    /**
     * Submit, split: waiting for the write-back of the batch object's last use (its miss buffers
     * are refilled) and any staging not joined yet; waiting for the device's copies of its miss
     * buffer, and collecting the earlier batches; the per-table pass (deduplication, hot/cold
     * split, each table's cold reads started); starting the staging.
     */
    public final LongAdder submitWriteBackWaits = new LongAdder();
    public final LongAdder submitWaits = new LongAdder();
    public final LongAdder submitTables = new LongAdder();
    public final LongAdder submitStarts = new LongAdder();

    void submitted(long writeBackWaits, long waits, long tables, long starts) {
        submit.add(writeBackWaits + waits + tables + starts);
        submitWriteBackWaits.add(writeBackWaits);
        submitWaits.add(waits);
        submitTables.add(tables);
        submitStarts.add(starts);
    }
    /** Gather: waiting for this batch's cold reads (or reading them). */
    public final LongAdder coldReads = new LongAdder();
    /** Gather: staging misses into spare hot slots. */
    public final LongAdder stage = new LongAdder();
    /** Gather: the hot tier's pooled gather (the index arrays' upload and the launch; the arrays are staged after submit). */
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
    /**
     * Submit, behind the caller: waiting for the step workers to finish writing the index arrays
     * (row-to-slot translation) of the batch submitted last, at the next boundary, submit or gather
     * that needs them or the workers.
     */
    public final LongAdder stagingJoins = new LongAdder();
    /**
     * The staging's tables, on whichever thread ran them: time writing the gather's arrays and the
     * apply's (the latter's start waits for the batch's last upload), the longest table, and the
     * tables the step thread ran itself (it takes those no worker has claimed when it joins).
     */
    public final LongAdder stagingGatherNanos = new LongAdder();
    public final LongAdder stagingApplyNanos = new LongAdder();
    public final LongAdder stagingTables = new LongAdder();
    public final LongAdder stagingTablesOnStepThread = new LongAdder();
    public final java.util.concurrent.atomic.LongAccumulator longestStagingTable =
            new java.util.concurrent.atomic.LongAccumulator(Math::max, 0);

    void stagingTask(long gatherNanos, long applyNanos, boolean onStepThread) {
        stagingGatherNanos.add(gatherNanos);
        stagingApplyNanos.add(applyNanos);
        stagingTables.increment();
        if (onStepThread) {
            stagingTablesOnStepThread.increment();
        }
        longestStagingTable.accumulate(gatherNanos + applyNanos);
    }
    /**
     * The write-behind, per applied batch on its own threads: waiting in line behind the batches
     * before it (they land in order), each table's capacity check and pre-images (while the device
     * reads its updated misses back), what is left of waiting for that read-back, the cold-tier
     * puts (parts of tables spread over the write threads) and the longest part's puts; the rows
     * written. What a submit's "waits for write-backs" waits on.
     */
    public final LongAdder writeBehindBatches = new LongAdder();
    public final LongAdder writeBehindQueued = new LongAdder();
    public final LongAdder writeBehindReadBack = new LongAdder();
    public final LongAdder writeBehindPrepares = new LongAdder();
    public final LongAdder writeBehindPuts = new LongAdder();
    public final LongAdder writeBehindLongestParts = new LongAdder();
    public final LongAdder writeBehindRows = new LongAdder();

    /** Write-backs whose tables were prepared beside the puts of the batch before (their prepares then take no time here). */
    public final LongAdder writeBehindPreparedAhead = new LongAdder();

    void wroteBehind(long queued, long prepares, long readBack, long puts, long longestPart, long rows, boolean preparedAhead) {
        if (preparedAhead) {
            writeBehindPreparedAhead.increment();
        }
        writeBehindBatches.increment();
        writeBehindQueued.add(queued);
        writeBehindReadBack.add(readBack);
        writeBehindPrepares.add(prepares);
        writeBehindPuts.add(puts);
        writeBehindLongestParts.add(longestPart);
        writeBehindRows.add(rows);
    }

    /** Step boundaries: the knob and chunked moves. */
    public final LongAdder moves = new LongAdder();
    /**
     * Step boundaries, split: waiting for a chunk's cold-tier reads and writes (a retarget's, or
     * every boundary's with {@code -Dember.move.waitAtBoundary=true}; by default a boundary leaves
     * a chunk whose cold-tier work is not done for later).
     */
    public final LongAdder moveWaits = new LongAdder();
    /** Step boundaries, split: publishing and starting chunks (the hot tier's calls and bookkeeping). */
    public final LongAdder moveCalls = new LongAdder();
    /**
     * Step boundaries, split: the knob and popularity counting (moving the counters' clock, handing
     * an evaluation over, waiting for a choice when due).
     */
    public final LongAdder knob = new LongAdder();
    /**
     * Step boundaries, split: retargeting to a knob's choice (publishing the chunk in transit first,
     * less any wait for its cold-tier work; the new target; fitting the hot tier to it).
     */
    public final LongAdder retargets = new LongAdder();
    /**
     * Promoted rows read again from the cold tier inside step boundaries: none unless every boundary
     * waits ({@code -Dember.move.waitAtBoundary=true}) or {@code -Dember.move.rereadAtBoundary=true}.
     */
    public final LongAdder boundaryRereads = new LongAdder();
    /** Step boundaries that left the chunk in transit for later (its cold-tier work was not done). */
    public final LongAdder deferredPublishes = new LongAdder();
    /** Step boundaries that put a knob's choice off because the chunk in transit's cold-tier work was not done. */
    public final LongAdder deferredRetargets = new LongAdder();
    /** Step boundaries that took more than 1 ms (re-tiering's stall target), and the longest one. */
    public final LongAdder slowBoundaries = new LongAdder();
    public final java.util.concurrent.atomic.LongAccumulator longestBoundary =
            new java.util.concurrent.atomic.LongAccumulator(Math::max, 0);
    /** What the boundaries over 1 ms were made of: the split above, summed over them alone. */
    public final LongAdder slowTotal = new LongAdder();
    public final LongAdder slowMoveWaits = new LongAdder();
    public final LongAdder slowMoveCalls = new LongAdder();
    public final LongAdder slowKnob = new LongAdder();
    public final LongAdder slowRetargets = new LongAdder();
    /**
     * Moves, split: publishing the chunk in transit (in-use checks, evictions, promotions, the
     * next generation) and planning and starting the next (its copies out, its cold-tier work).
     */
    public final LongAdder movePublishing = new LongAdder();
    public final LongAdder moveStarting = new LongAdder();
    /** The step thread's CPU time in every boundary (wall time beyond it: waiting, or not scheduled). */
    public final LongAdder boundaryCpu = new LongAdder();
    /** The hot tier's calls at every boundary (a chunk's reads, evictions or promotions), their rows and the step thread's time in them. */
    public final LongAdder tierCalls = new LongAdder();
    public final LongAdder tierRows = new LongAdder();
    public final LongAdder tierNanos = new LongAdder();
    /** The hot tier's calls in the boundaries over 1 ms, and their rows. */
    public final LongAdder slowTierCalls = new LongAdder();
    public final LongAdder slowTierRows = new LongAdder();
    /** Step-thread time inside those calls, and the retargets' share spent publishing the chunk in transit (less its waits). */
    public final LongAdder slowTierNanos = new LongAdder();
    public final LongAdder slowRetargetPublish = new LongAdder();
    /** The step thread's CPU time in the boundaries over 1 ms (wall time beyond it: waiting, or not scheduled). */
    public final LongAdder slowCpu = new LongAdder();
    /**
     * The move calls of the boundaries over 1 ms, split: publishing the chunk in transit (its
     * cold-tier waits included), planning the next from the pending rows, grouping its promotions.
     */
    public final LongAdder slowMovePublishing = new LongAdder();
    public final LongAdder slowMovePlanning = new LongAdder();
    public final LongAdder slowMoveGrouping = new LongAdder();
    /** A boundary over this is slow (re-tiering's stall target). */
    static final long SLOW_NANOS = 1_000_000;
    /**
     * The first {@value #SLOW_KEPT} boundaries over 1 ms, when they ended (milliseconds of the
     * JVM's uptime, to lay beside a GC or safepoint log's uptime), how long they took, the step
     * thread's CPU in them, the promoted rows it read again from the cold tier and the time that
     * took, its wait for a core (-1: not read; {@code -Dember.boundary.runDelay=true}), and its
     * minor and major page faults and voluntary and involuntary context switches in them (-1: not
     * read); times in nanoseconds. Step thread only.
     * <pre>
     *  slowAt: | boundary 0: uptime ms, nanos, CPU, re-read rows, re-read nanos, run delay,
     *          |   minor faults, major faults, voluntary switches, involuntary switches | boundary 1: ... |
     * </pre>
     */
    static final int SLOW_KEPT = 16;
    private static final int SLOW_FIELDS = 10;
    private final long[] slowAt = new long[SLOW_FIELDS * SLOW_KEPT];
    private int slowKept;
    /** Where the boundary just recorded keeps its detail, or -1 when it was not kept. */
    private int detailAt = -1;
    /** The JVM's uptime and the nano clock at one moment, to turn nano clock readings into uptime. */
    private final long uptimeBaseMillis = java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime();
    private final long uptimeBaseNanos = System.nanoTime();
    /** The longest boundary's split: total, move waits, move calls, tier calls' time, knob, retarget, its publishing, CPU. */
    private volatile long[] longestSplit = new long[8];

    /** Records one step boundary's time, in all and split (the rest is bookkeeping such as reaping write-backs). */
    void boundary(long nanos, long moveWait, long moveCall, long knobNanos, long retargetNanos, boolean deferred,
                  long tierCalls, long tierRows, long tierNanos, long retargetPublish, long cpuNanos,
                  long movePublish, long movePlan, long moveGroup) {
        moves.add(nanos);
        moveWaits.add(moveWait);
        moveCalls.add(moveCall);
        knob.add(knobNanos);
        retargets.add(retargetNanos);
        this.tierCalls.add(tierCalls);
        this.tierRows.add(tierRows);
        this.tierNanos.add(tierNanos);
        boundaryCpu.add(cpuNanos);
        if (deferred) {
            deferredPublishes.increment();
        }
        detailAt = -1;
        if (nanos > SLOW_NANOS) {
            slowBoundaries.increment();
            slowTotal.add(nanos);
            slowMoveWaits.add(moveWait);
            slowMoveCalls.add(moveCall);
            slowKnob.add(knobNanos);
            slowRetargets.add(retargetNanos);
            slowTierCalls.add(tierCalls);
            slowTierRows.add(tierRows);
            slowTierNanos.add(tierNanos);
            slowRetargetPublish.add(retargetPublish);
            slowCpu.add(cpuNanos);
            slowMovePublishing.add(movePublish);
            slowMovePlanning.add(movePlan);
            slowMoveGrouping.add(moveGroup);
            if (slowKept < SLOW_KEPT) {
                int k = SLOW_FIELDS * slowKept++;
                slowAt[k] = uptimeBaseMillis + (System.nanoTime() - uptimeBaseNanos) / 1_000_000;
                slowAt[k + 1] = nanos;
                slowAt[k + 2] = cpuNanos;
                slowAt[k + 5] = -1;
                slowAt[k + 6] = -1;
                detailAt = k;
            }
        }
        if (nanos > longestBoundary.get()) {
            longestSplit = new long[] {nanos, moveWait, moveCall, tierNanos, knobNanos, retargetNanos, retargetPublish, cpuNanos};
        }
        longestBoundary.accumulate(nanos);
    }

    /**
     * One line: each part in milliseconds per step over {@code steps} steps, then the boundaries'
     * split (per step, and what those over 1 ms were made of, in milliseconds summed over them).
     */
    public String perStep(long steps) {
        double n = Math.max(1, steps) * 1e6;
        return String.format("submit %.3f (waits for write-backs %.3f + for device copies %.3f + dedup and split %.3f"
                        + " + starting the staging %.3f; then staging joined %.3f), cold reads %.3f, stage %.3f, gather %.3f, apply %.3f, unstage %.3f, "
                        + "write-back %.3f, moves %.3f ms per step; %d step boundaries over 1 ms, the longest %.3f ms"
                        + "; boundaries: move waits %.3f, move calls %.3f (publishing %.3f + planning and starting %.3f; hot-tier calls"
                        + " %.3f: %d over %d rows in all), knob %.3f, retargets %.3f ms per step, the step thread's CPU in them %.3f"
                        + " ms per step, %d left a chunk for later, %d put a knob's choice off for it; those over 1 ms: %.3f ms in all = move waits %.3f + move calls %.3f (publishing %.3f, planning %.3f,"
                        + " grouping promotions %.3f) + knob %.3f"
                        + " + retargets %.3f (publishing %.3f) + other %.3f ms, with %d hot-tier calls over %d rows taking %.3f ms"
                        + ", the step thread's CPU %.3f ms; the longest = move waits %.3f + move calls %.3f (hot-tier calls %.3f)"
                        + " + knob %.3f + retargets %.3f (publishing %.3f) ms, CPU %.3f ms; staging: gather arrays %.3f +"
                        + " apply arrays %.3f ms per step on all threads, %.1f%% of its tables on the step thread, the"
                        + " longest table %.3f ms; write-behind per batch (%d, %d prepared beside the puts before): queued %.3f + capacity checks and pre-images"
                        + " %.3f + device read-back left %.3f + puts %.3f ms (the longest part's %.3f ms), %.0f rows",
                submit.sum() / n, submitWriteBackWaits.sum() / n, submitWaits.sum() / n, submitTables.sum() / n, submitStarts.sum() / n, stagingJoins.sum() / n, coldReads.sum() / n, stage.sum() / n, gather.sum() / n, apply.sum() / n,
                unstage.sum() / n, writeBack.sum() / n, moves.sum() / n, slowBoundaries.sum(), longestBoundary.get() / 1e6,
                moveWaits.sum() / n, moveCalls.sum() / n, movePublishing.sum() / n, moveStarting.sum() / n, tierNanos.sum() / n,
                tierCalls.sum(), tierRows.sum(), knob.sum() / n, retargets.sum() / n, boundaryCpu.sum() / n, deferredPublishes.sum(), deferredRetargets.sum(),
                slowTotal.sum() / 1e6, slowMoveWaits.sum() / 1e6, slowMoveCalls.sum() / 1e6, slowMovePublishing.sum() / 1e6,
                slowMovePlanning.sum() / 1e6, slowMoveGrouping.sum() / 1e6, slowKnob.sum() / 1e6,
                slowRetargets.sum() / 1e6, slowRetargetPublish.sum() / 1e6, (slowTotal.sum() - slowMoveWaits.sum()
                        - slowMoveCalls.sum() - slowKnob.sum() - slowRetargets.sum()) / 1e6, slowTierCalls.sum(),
                slowTierRows.sum(), slowTierNanos.sum() / 1e6, slowCpu.sum() / 1e6, longestSplit[1] / 1e6,
                longestSplit[2] / 1e6, longestSplit[3] / 1e6, longestSplit[4] / 1e6, longestSplit[5] / 1e6,
                longestSplit[6] / 1e6, longestSplit[7] / 1e6, stagingGatherNanos.sum() / n, stagingApplyNanos.sum() / n,
                100.0 * stagingTablesOnStepThread.sum() / Math.max(1, stagingTables.sum()), longestStagingTable.get() / 1e6,
                writeBehindBatches.sum(), writeBehindPreparedAhead.sum(), perBatch(writeBehindQueued), perBatch(writeBehindPrepares), perBatch(writeBehindReadBack), perBatch(writeBehindPuts),
                perBatch(writeBehindLongestParts), (double) writeBehindRows.sum() / Math.max(1, writeBehindBatches.sum()));
    }

    /**
     * What the boundary just recorded by {@link #boundary} spent beyond its split, when it was over
     * 1 ms and among those kept: promoted rows read again from the cold tier and the nanoseconds
     * that took, the step thread's wait for a core (-1: not read), and its faults and switches
     * ({@link dev.ember.cache.threads.ThreadEvents}'s counts at the boundary's start, null when not
     * read, and at its end).
     */
    void slowBoundaryDetail(long rereadRows, long rereadNanos, long runDelayNanos, long[] eventsBefore, long[] eventsAfter) {
        int k = detailAt;
        if (k < 0) {
            return; // not kept: 16 were
        }
        detailAt = -1;
        slowAt[k + 3] = rereadRows;
        slowAt[k + 4] = rereadNanos;
        slowAt[k + 5] = runDelayNanos;
        if (eventsBefore != null) {
            for (int i = 0; i < dev.ember.cache.threads.ThreadEvents.COUNTS; i++) {
                slowAt[k + 6 + i] = eventsAfter[i] - eventsBefore[i];
            }
        }
    }

    /**
     * The boundaries over 1 ms kept, by the JVM's uptime at their end: "at 12.345 s 2.10 ms (CPU
     * 0.30)" each, with "; 12 rows re-read in 1.20 ms" when it read promoted rows again,
     * "; waiting for a core 1.50 ms" when the run delay was read and "; faults 3 minor 0 major;
     * switches 1 blocked 0 preempted" when the faults and switches were.
     */
    public String slowBoundaryTimes() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < slowKept; i++) {
            int k = SLOW_FIELDS * i;
            b.append(i == 0 ? "" : ", ").append(String.format("at %.3f s %.2f ms (CPU %.2f", slowAt[k] / 1e3,
                    slowAt[k + 1] / 1e6, slowAt[k + 2] / 1e6));
            if (slowAt[k + 3] > 0) {
                b.append(String.format("; %d rows re-read in %.2f ms", slowAt[k + 3], slowAt[k + 4] / 1e6));
            }
            if (slowAt[k + 5] >= 0) {
                b.append(String.format("; waiting for a core %.2f ms", slowAt[k + 5] / 1e6));
            }
            if (slowAt[k + 6] >= 0) {
                b.append(String.format("; faults %d minor %d major; switches %d blocked %d preempted", slowAt[k + 6],
                        slowAt[k + 7], slowAt[k + 8], slowAt[k + 9]));
            }
            b.append(')');
        }
        return b.length() == 0 ? "none" : b.toString();
    }

    private double perBatch(LongAdder nanos) {
        return nanos.sum() / 1e6 / Math.max(1, writeBehindBatches.sum());
    }
}
