package dev.ember.cache.tiered;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.hot.HotTier;
import dev.ember.cache.hot.MoveMark;
import dev.ember.cache.hotset.HotSets;
import dev.ember.cache.hotset.MoveChunk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Moves rows between the tiers at step boundaries, one chunk at a time, with the cold tier's half
 * of every move behind the steps, so that a boundary costs the hot tier's calls and bookkeeping.
 *
 * <p><b>A chunk's life.</b> At boundary k ({@link #start}) the chunk is planned. Its demotions'
 * rows are copied out of the hot tier behind the step the device still runs ({@link
 * HotTier#readLater}: the step thread never waits for it; they stay hot and in use); the mover
 * threads wait for the copy and write the dirty ones to the cold tier (their dirty flags stay: a
 * row whose move fails or is dropped is still newer than its cold copy until written again).
 * Every batch applied from then on marks the demoted rows it updates ({@link #applied}). Its promotions' rows are
 * read from the cold tier by the mover threads (a row that a batch still writes back takes its
 * bytes from that batch now: the newest value, final). Nothing moves yet. At boundary k+1
 * ({@link #publishIfDone}) that work has normally finished long before; if not (a busy machine),
 * the chunk stays in transit until a later boundary finds it done (see below), while {@link
 * #publish} (settling, checkpoints, a retarget) has the step thread read the tables the mover
 * threads have not begun and wait for the rest. Then the chunk is checked against what happened
 * meanwhile:
 * <ul>
 *   <li>a row (either way) a batch in flight uses is dropped from the chunk (it stays pending, a
 *       later chunk takes it): rows in use never move. Planning left the rows the batches then in
 *       flight use, and their rows do not change, so only batches submitted since are asked;</li>
 *   <li>a demoted row a batch applied since its copy (its cold copy may be stale) is dropped too;
 *       for each demotion dropped one more promotion goes, so the hot rows stay within the bytes
 *       the plan allowed;</li>
 *   <li>a promoted row a batch applied since the plan missed (the {@link WriteBehind.Watcher}
 *       marks it) may have been written after the read: taken from the newest batch that wrote
 *       it, still writing or landed and not reused since ({@link WriteBehind#newestKeeping}: a
 *       batch keeps its bytes until it is submitted again), or, when that batch was reused, read
 *       again from the cold tier here (a few rows, with a reader of the step thread's own) when
 *       publishing waits anyway ({@link #publish}); a step boundary ({@link #publishIfDone})
 *       leaves such a row for a later chunk instead: the cold tier's locks are shared with the
 *       write-behind's threads, which run at a lower priority, so a read there could hold the step
 *       up for as long as one of them waits for a core. (Before batches kept their bytes, a row
 *       every batch uses was written again between every read and publishing: on a fast write-behind
 *       boundaries put it off time after time and the hottest rows stayed cold);</li>
 *   <li>else the bytes read are the row's newest value, and a demoted row's cold copy is current.</li>
 * </ul>
 * Then the demotions leave the hot tier ({@link HotTier#evict}: their cold copy is current, nothing
 * to copy), the promotions enter it ({@link HotTier#promoteLater}: the copies run behind the
 * step, from one of two row buffers that chunks take in turn), and the chunk is published: the
 * hot set switches at once, with no step missing both the old and the new
 * rows. Moves never change a value. A demoted row is never in the cold tier's write-behind: it is
 * hot until its cold copy is current, so batches never miss it meanwhile.
 *
 * <p><b>Publishing later than k+1.</b> A step boundary need not wait for the chunk's cold-tier
 * work: {@link #publishIfDone} leaves a chunk whose mover threads are still busy open (nothing
 * moves, no new chunk starts) and the chunk publishes at the first later boundary that finds the
 * work done. Every check above is made at publishing, against what happened up to then, so any
 * number of boundaries in between is as safe as one: rows in use then are dropped; a demoted row
 * stays hot (and served hot) until published, and one a batch applied since its copy is dropped;
 * a promoted row stays
 * cold until published, every batch that starts writing meanwhile marks the rows it missed
 * ({@link #started}), and those take their newest bytes at publishing. (FAE's boundaries that
 * move nothing have always left a chunk open this way.) So values never depend on when a chunk
 * publishes; only which boundary a row moves at does, and that then depends on thread timing.
 * Settling, checkpoints, closing and retargeting still wait ({@link #publish}); so does every
 * boundary with {@code -Dember.move.waitAtBoundary=true}, where which rows move at which boundary
 * depends only on the calls (plan at k, drops at k+1), never on thread timing. (Without it, a
 * promoted row whose newest bytes are a batch's miss not yet back from the device is not waited
 * for either: it is taken at publishing, or, still not back then, left for a later chunk.)
 *
 * <pre>
 *  promote bytes: | rows of table t0 (chunk order) | rows of t1 | ...   capacity x rowBytes, position i = chunk index i
 *                 two such row buffers of the tier's: chunk n fills number n % 2
 *  copy bytes:    | demoted rows of table t0 | of t1 | ...             a row buffer: the device copies them in
 *  copy flags:    | i -> demoted row i was dirty at the copy |         one byte a row, a row buffer too
 *  write bytes:   | dirty demoted rows of table t0 | of t1 | ...        at the group's chunk indices
 *  touched:       | i -> a batch applied since the plan missed promoted row i |
 *  updated:       | i -> a batch applied since the copy updated demoted row i |
 * </pre>
 * All rows share one row layout (one hot tier). One thread (the step thread) calls
 * {@link #start}, {@link #publish}, {@link #started} and {@link #close}.
 */
final class Mover implements WriteBehind.Watcher, AutoCloseable {
    private final HotTier tier;
    private final int[] handle;
    private final HotSets hotSets;
    private final HotSets.RowsInUse inUse;
    private final WriteBehind writeBehind;
    /**
     * Threads doing a chunk's cold-tier work, tables claimed one at a time ({@code
     * -Dember.move.threads}; by default half the cores, at most 8): a chunk's rows spread over the
     * tables, and Chronicle costs 1-2 us a row, so one thread kept the moves between FAE's windows
     * waiting (1.9 s of a 27 s run on the H200).
     */
    static final int MOVE_THREADS = Math.max(1, Integer.getInteger("ember.move.threads",
            Math.min(8, Runtime.getRuntime().availableProcessors() / 2)));
    private final ExecutorService moveThreads;
    /** Whether {@link #moveThreads} are the mover's own (shut down at close) or the caller's. */
    private final boolean ownThreads;
    /** Readers of each mover thread and of the step thread (a table's synchronized gather waits for its writes). */
    private final ColdTable.Reader[][] moveReaders;
    private final ColdTable.Reader[] stepReaders;
    private final int tables;
    private final int rowBytes;
    private final int capacity;
    private final MoveChunk chunk;

    private final List<ColdTable> cold;

    // Demotions in transit: group g = table dGroupTable[g], chunk indices dGroupStart[g]..+dGroupCount[g];
    // the dirty ones (rows writeRows[t]) packed into writeBytes and written by the mover threads.
    private final int[] dGroupTable;
    private final int[] dGroupStart;
    private final int[] dGroupCount;
    private final long[][] demoteRowsOf;
    private final long[][] writeRows;
    private int dGroups;
    private final boolean[] updated;
    private final long[] keptRows;
    private final ByteBuffer copyBytes;
    private final ByteBuffer copyFlags;
    /** Behind the demotions' copy: the mover threads wait for it before writing. */
    private final MoveMark copied;
    private final ByteBuffer writeBytes;

    // Promotions in transit: group g = table groupTable[g], chunk indices groupStart[g]..+groupCount[g].
    private final int[] groupTable;
    private final int[] groupStart;
    private final int[] groupCount;
    private final long[][] rowsOf;
    private int groups;
    /** Chunks started so far: chunk n's promotions come from promoteBuffers[n % 2], behind promoted[n % 2]. */
    private long chunkNumber;
    private final ByteBuffer[] promoteBuffers = new ByteBuffer[2];
    private final MoveMark[] promotedMarks = new MoveMark[2];
    private ByteBuffer promoteBytes;
    private final boolean[] touched;
    private final boolean[] keep;
    private final boolean[] keepDemoted;
    private final long[] rereadRows;
    private final int[] rereadAt;
    private final ByteBuffer rereadBytes;
    // The promotions the mover threads read: per group, readCount[g] rows readRows[t] to chunk indices readAt[t].
    private final long[][] readRows;
    private final int[][] readAt;
    private final int[] readCount;
    private final ByteBuffer[] readBytes;
    private final Runnable[] moveTasks;
    /**
     * The chunk's cold-tier work, done when its last mover task ends. The step thread hands the
     * first task over and that one hands over the rest: one thread woken at the boundary, not
     * one a task (each wake-up a system call on the step thread).
     */
    private CompletableFuture<Void> chunkWork;
    private final Runnable fanOut = this::fanOut;
    private final AtomicInteger tasksLeft = new AtomicInteger();
    private final AtomicReference<Throwable> taskFailure = new AtomicReference<>();
    /** Mover tasks of the chunk in transit (0: none). */
    private int running;
    /** The batches in flight when the chunk in transit was planned ({@link HotSets.RowsInUse#mark}). */
    private long plannedAt;
    /** Demotion groups claimed for writing. */
    private final AtomicInteger nextWrite = new AtomicInteger();
    /** Groups claimed for reading (by the mover threads, or the step thread when the chunk is due) and done. */
    private final AtomicInteger nextGroup = new AtomicInteger();
    private final AtomicInteger groupsRead = new AtomicInteger();
    private boolean open;
    /** Wait for batches' misses to come back from the device rather than leave their rows for later ({@code -Dember.move.waitAtBoundary}). */
    private final boolean awaitDevice;

    private long promoted;
    private long demoted;
    private final LongAdder fromWriteBacks;
    private final LongAdder reread = new LongAdder();
    private long rereadNanos;
    private final LongAdder rereadsPutOff = new LongAdder();
    /**
     * {@code -Dember.move.rereadAtBoundary=true}: step boundaries read promoted rows written since
     * their read again, as {@link #publish} does, rather than leave them for a later chunk (for comparison).
     */
    static final boolean REREAD_AT_BOUNDARY = Boolean.getBoolean("ember.move.rereadAtBoundary");
    private final LongAdder dropped = new LongAdder();
    private final LongAdder readWaitNanos = new LongAdder();
    private final LongAdder rowsWritten = new LongAdder();
    private final LongAdder deferrals = new LongAdder();
    /** Boundaries that started no chunk because the device had not finished the copies of those before. */
    private final LongAdder deviceBehind = new LongAdder();
    /**
     * The chunk's rows in one hot-tier call each way (row i of the tier's table callTables[i]),
     * not a call per table of a dozen device calls each (on the H200 the calls took 0.015-0.024
     * ms a step of cache either way: fewer device calls, the same time;
     * {@code -Dember.move.callPerTable=true} calls per table, for comparison).
     */
    private final int[] callTables;
    private final long[] callRows;
    static final boolean CALL_PER_TABLE = Boolean.getBoolean("ember.move.callPerTable");
    /** The hot tier's calls (a chunk's reads or promotions, a table's evictions) and the rows in them (step thread). */
    private long tierCalls;
    private long tierRows;
    private long tierNanos;
    /** Step-thread nanoseconds planning chunks (the hot sets' pending rows) and grouping their promotions, so far. */
    private long planNanos;
    private long groupNanos;

    Mover(HotTier tier, int[] handle, List<ColdTable> cold, HotSets hotSets, HotSets.RowsInUse inUse,
          WriteBehind writeBehind, int rowBytes, int capacity, LongAdder fromWriteBacks, ExecutorService givenThreads,
          boolean awaitDevice) {
        this.tier = tier;
        this.awaitDevice = awaitDevice;
        this.handle = handle;
        this.hotSets = hotSets;
        this.inUse = inUse;
        this.writeBehind = writeBehind;
        this.cold = cold;
        this.tables = cold.size();
        this.rowBytes = rowBytes;
        this.capacity = capacity;
        this.fromWriteBacks = fromWriteBacks;
        this.chunk = new MoveChunk(capacity);
        this.dGroupTable = new int[tables];
        this.dGroupStart = new int[tables];
        this.dGroupCount = new int[tables];
        this.demoteRowsOf = new long[tables][];
        this.writeRows = new long[tables][];
        this.updated = new boolean[capacity];
        this.keptRows = new long[capacity];
        this.callTables = new int[capacity];
        this.callRows = new long[capacity];
        this.copyBytes = tier.newRowBuffer(capacity);
        this.copyFlags = tier.newRowBuffer((capacity + rowBytes - 1) / rowBytes);
        this.copied = tier.newMoveMark();
        this.writeBytes = direct((long) capacity * rowBytes);
        this.groupTable = new int[tables];
        this.groupStart = new int[tables];
        this.groupCount = new int[tables];
        this.rowsOf = new long[tables][];
        for (int b = 0; b < 2; b++) {
            promoteBuffers[b] = tier.newRowBuffer(capacity);
            promotedMarks[b] = tier.newMoveMark();
        }
        this.touched = new boolean[capacity];
        this.keep = new boolean[capacity];
        this.keepDemoted = new boolean[capacity];
        this.rereadRows = new long[capacity];
        this.rereadAt = new int[capacity];
        this.rereadBytes = direct((long) capacity * rowBytes);
        this.readRows = new long[tables][];
        this.readAt = new int[tables][];
        this.readCount = new int[tables];
        AtomicInteger threadNumber = new AtomicInteger();
        this.ownThreads = givenThreads == null;
        this.moveThreads = givenThreads != null ? givenThreads : Executors.newFixedThreadPool(MOVE_THREADS, r -> {
            Thread th = new Thread(dev.ember.cache.threads.BackgroundPriority.lowered(r), "ember-move-" + threadNumber.incrementAndGet());
            th.setDaemon(true);
            return th;
        });
        this.moveReaders = new ColdTable.Reader[MOVE_THREADS][tables];
        this.readBytes = new ByteBuffer[MOVE_THREADS];
        this.moveTasks = new Runnable[MOVE_THREADS];
        this.stepReaders = new ColdTable.Reader[tables];
        for (int w = 0; w < MOVE_THREADS; w++) {
            readBytes[w] = direct((long) capacity * rowBytes);
            for (int t = 0; t < tables; t++) {
                moveReaders[w][t] = cold.get(t).newReader();
            }
            final int worker = w;
            moveTasks[w] = () -> moveTask(worker);
        }
        for (int t = 0; t < tables; t++) {
            stepReaders[t] = cold.get(t).newReader();
        }
    }

    /** Rows promoted (published) so far. */
    long promoted() {
        return promoted;
    }

    /** Rows demoted (published) so far. */
    long demoted() {
        return demoted;
    }

    /** Promoted rows read again from the cold tier at publishing (a batch's write landed after the read). */
    long rowsReread() {
        return reread.sum();
    }

    /** Step-thread nanoseconds reading those rows again so far. */
    long rereadNanos() {
        return rereadNanos;
    }

    /** Promoted rows a step boundary left for a later chunk rather than read again (written since their read). */
    long rereadsPutOff() {
        return rereadsPutOff.sum();
    }

    /**
     * Step-thread nanoseconds spent on a chunk's cold-tier work when it was due and not done
     * (reading the groups the mover threads had not begun, waiting for the rest).
     */
    long waitNanos() {
        return readWaitNanos.sum();
    }

    /** Dirty demoted rows written to the cold tier by the mover threads. */
    long rowsWritten() {
        return rowsWritten.sum();
    }

    /**
     * Planned moves dropped at publishing: a batch in flight used the row by then, a demoted row
     * was updated since its copy, or (promotions) no room.
     */
    long promotionsDropped() {
        return dropped.sum();
    }

    /**
     * Plans the next chunk of at most {@code limit} moves: copies its demoted rows out of the hot tier and starts writing the
     * dirty ones and reading its promotions behind the steps. Returns false when no move can be
     * planned now, or (unless {@code mayWait}) when the device has not finished the copies of the
     * chunks whose buffers this one reuses (a step boundary does not wait for them: a later one
     * starts the chunk). {@code bounded}: a step boundary's plan, which passes over at most
     * {@code limit} rows in use, whether or not it finds a move (see {@link MoveChunk#bounded}),
     * and stops planning at {@code deadline} ({@link System#nanoTime}; 0: none).
     */
    boolean start(int limit, boolean mayWait, boolean bounded, long deadline) {
        if (open) {
            throw new IllegalStateException("a chunk is still in transit: publish it first");
        }
        if (!mayWait && !awaitDevice && !(promotedMarks[(int) (chunkNumber & 1)].isDone() && copied.isDone())) {
            deviceBehind.increment();
            return false;
        }
        chunk.limit(limit);
        chunk.bounded(bounded);
        chunk.deadline(deadline);
        plannedAt = inUse.mark(); // planChunk leaves the rows batches in flight now use
        long planStart = System.nanoTime();
        boolean planned = hotSets.planChunk(chunk);
        planNanos += System.nanoTime() - planStart;
        if (!planned) {
            return false;
        }
        int b = (int) (chunkNumber & 1);
        try {
            // Both done a boundary or more ago, unless chunks follow each other at once (settling).
            promotedMarks[b].await(); // the chunk before last promoted from this buffer
            copied.await(); // the last chunk's copy (its slot numbers go where the copy lands)
            copyDemotions();
        } catch (RuntimeException e) {
            hotSets.abort(chunk);
            throw e;
        }
        chunkNumber++;
        promoteBytes = promoteBuffers[b];
        long groupStart = System.nanoTime();
        int toRead = groupPromotions();
        groupNanos += System.nanoTime() - groupStart;
        nextGroup.set(0);
        groupsRead.set(0);
        nextWrite.set(0);
        open = true;
        running = toRead == 0 && dGroups == 0 ? 0 : Math.min(MOVE_THREADS, Math.max(groups, dGroups));
        if (running > 0) {
            chunkWork = new CompletableFuture<>();
            tasksLeft.set(running);
            taskFailure.set(null);
            try {
                moveThreads.execute(fanOut);
            } catch (RuntimeException e) { // rejected: the threads were shut down
                open = false;
                running = 0;
                chunkWork = null;
                hotSets.abort(chunk);
                throw e;
            }
        }
        return true;
    }

    /** Whether a chunk is in transit (planned and not yet published or given up). */
    boolean inTransit() {
        return open;
    }

    /** Whether the chunk in transit has its cold-tier reads and writes done (true when none is in transit). */
    boolean coldWorkDone() {
        return !open || running == 0 || chunkWork.isDone();
    }

    /**
     * A step boundary that need not wait: publishes the chunk in transit when its cold-tier work is
     * done (as {@link #publish}), else leaves it in transit for a later boundary and returns false
     * (counted in {@link #deferrals}). Returns true when no chunk is in transit afterwards.
     */
    boolean publishIfDone() {
        if (!open) {
            return true;
        }
        if (!coldWorkDone()) {
            deferrals.increment();
            return false;
        }
        publishAtBoundary();
        return true;
    }

    /**
     * As {@link #publish()} at a step boundary: a promoted row written since its read is left for a
     * later chunk rather than read again from the cold tier (unless {@link #REREAD_AT_BOUNDARY}).
     */
    void publishAtBoundary() {
        publish(REREAD_AT_BOUNDARY);
    }

    private void countCall(int rows, long startNanos) {
        tierCalls++;
        tierRows += rows;
        tierNanos += System.nanoTime() - startNanos;
    }

    /** Step-thread nanoseconds planning chunks so far. */
    long planNanos() {
        return planNanos;
    }

    /** Step-thread nanoseconds grouping chunks' promotions (rows a batch still writes back take its bytes) so far. */
    long groupNanos() {
        return groupNanos;
    }

    /** Step-thread nanoseconds inside the hot tier's calls so far. */
    long tierNanos() {
        return tierNanos;
    }

    /** The hot tier's calls so far (step thread): a chunk's reads or promotions, or one table's evictions. */
    long tierCalls() {
        return tierCalls;
    }

    /** Rows in those calls (step thread). */
    long tierRows() {
        return tierRows;
    }

    /** Boundaries that started no chunk: the device was still copying the chunks before (their buffers are reused). */
    long deviceBehind() {
        return deviceBehind.sum();
    }

    /** Boundaries that found the chunk's cold-tier work not done and left it in transit. */
    long deferrals() {
        return deferrals.sum();
    }

    /**
     * Moves the chunk in transit (waiting for its cold-tier work if still running): rows a batch in
     * flight uses and demoted rows updated since their copy are dropped, promoted rows written since
     * the read come from the newest bytes; demotions leave the hot tier, promotions enter it, and
     * the chunk is published. No-op when none is in transit.
     */
    void publish() {
        publish(true);
    }

    /**
     * As {@link #publish()}; unless {@code mayReadCold}, a promoted row whose newest bytes are back
     * in the cold tier is left for a later chunk rather than read again.
     */
    private void publish(boolean mayReadCold) {
        if (!open) {
            return;
        }
        open = false;
        int d;
        int p;
        try {
            finishRead();
            int planned = chunk.demoteCount();
            d = demoteClean();
            p = keepPromotionsNotInUse(planned - d);
            for (int g = 0; g < groups; g++) {
                p -= settleGroup(g, mayReadCold);
            }
            promoteKept();
        } catch (RuntimeException e) {
            hotSets.abort(chunk);
            throw e;
        }
        chunk.retainPromotions(keep);
        if (chunk.size() == 0) {
            hotSets.abort(chunk);
            return;
        }
        hotSets.commit(chunk);
        demoted += d;
        promoted += p;
    }

    /**
     * The chunk's demotions at publishing, table by table: rows in use or updated since their copy
     * are dropped from the chunk; the others, whose cold copy is current, leave the hot tier (no
     * copy: evicted). Returns those kept.
     */
    private int demoteClean() {
        for (int g = 0; g < dGroups; g++) {
            int t = dGroupTable[g];
            int s = dGroupStart[g];
            int n = dGroupCount[g];
            long[] rows = demoteRowsOf[t];
            int kept = 0;
            for (int k = 0; k < n; k++) {
                boolean go = !updated[s + k] && !inUse.inUseSince(t, rows[k], plannedAt);
                keepDemoted[s + k] = go;
                if (go) {
                    keptRows[kept++] = rows[k];
                } else {
                    dropped.increment();
                }
            }
            if (kept > 0) {
                long c0 = System.nanoTime();
                tier.evict(handle[t], keptRows, kept);
                countCall(kept, c0);
            }
        }
        return chunk.retainDemotions(keepDemoted);
    }

    /**
     * Marks the promotions to keep: not in use, and no more than the plan's count less
     * {@code lessRoom} (demotions dropped: the room they would have freed). Returns how many.
     */
    private int keepPromotionsNotInUse(int lessRoom) {
        int n = chunk.promoteCount();
        int kept = 0;
        for (int g = 0; g < groups; g++) {
            int t = groupTable[g];
            long[] rows = rowsOf[t];
            int s = groupStart[g];
            for (int k = 0, c = groupCount[g]; k < c; k++) {
                boolean free = !inUse.inUseSince(t, rows[k], plannedAt);
                keep[s + k] = free;
                if (free) {
                    kept++;
                } else {
                    dropped.increment();
                }
            }
        }
        int allowed = n - lessRoom;
        for (int i = n - 1; i >= 0 && kept > allowed; i--) {
            if (keep[i]) {
                keep[i] = false; // the last ones wait for room
                kept--;
            }
        }
        return kept;
    }

    /** Gives up the chunk in transit (its moves stay pending); waits for its read first. */
    void abandon() {
        if (!open) {
            return;
        }
        open = false;
        try {
            finishRead();
        } finally {
            hotSets.abort(chunk);
        }
    }

    /** Gives up the chunk in transit and stops the mover threads. */
    @Override
    public void close() {
        try {
            abandon();
        } finally {
            // No copy may still use the row buffers once the tier frees them (a device error is not news here).
            for (MoveMark m : new MoveMark[] {copied, promotedMarks[0], promotedMarks[1]}) {
                try {
                    m.await();
                } catch (RuntimeException ignored) {
                    // the tier's own close reports a failed device
                }
            }
            if (ownThreads) {
                moveThreads.shutdownNow();
            }
        }
    }


    /** A batch starts writing: promoted rows it missed may be newer there (or, later, in the cold tier) than the read's. */
    @Override
    public void started(StepBatch b) {
        if (!open) {
            return;
        }
        for (int g = 0; g < groups; g++) {
            int t = groupTable[g];
            if (b.missCount[t] == 0) {
                continue;
            }
            RowIndex index = b.missIndex[t];
            long[] rows = rowsOf[t];
            int s = groupStart[g];
            for (int k = 0, n = groupCount[g]; k < n; k++) {
                if (index.get(rows[k]) >= 0) {
                    touched[s + k] = true;
                }
            }
        }
    }

    /**
     * A batch's update was issued (after the demotions' copy, which saw every update issued before
     * it): the demoted rows it updates have a stale copy and stay hot. At most a chunk's rows
     * looked up in the batch's unique ids.
     */
    void applied(StepBatch b) {
        if (!open) {
            return;
        }
        for (int g = 0; g < dGroups; g++) {
            int t = dGroupTable[g];
            DedupedIds d = b.dedup[t];
            if (d.uniqueCount() == 0) {
                continue;
            }
            long[] rows = demoteRowsOf[t];
            int s = dGroupStart[g];
            for (int k = 0, n = dGroupCount[g]; k < n; k++) {
                if (!updated[s + k] && d.indexOf(rows[k]) >= 0) {
                    updated[s + k] = true;
                }
            }
        }
    }

    /**
     * Groups the chunk's demotions by table and has the hot tier copy their rows out behind the
     * step on the device (they stay hot); the mover threads write the dirty ones.
     */
    private void copyDemotions() {
        int d = chunk.demoteCount();
        dGroups = 0;
        int i = 0;
        while (i < d) {
            int t = chunk.demoteTable(i);
            if (demoteRowsOf[t] == null) {
                demoteRowsOf[t] = new long[capacity];
                writeRows[t] = new long[capacity];
            }
            int s = i;
            long[] rows = demoteRowsOf[t];
            int n = 0;
            while (i < d && chunk.demoteTable(i) == t) {
                callTables[i] = handle[t];
                callRows[i] = chunk.demoteRow(i);
                rows[n++] = chunk.demoteRow(i++);
            }
            java.util.Arrays.fill(updated, s, s + n, false);
            dGroupTable[dGroups] = t;
            dGroupStart[dGroups] = s;
            dGroupCount[dGroups++] = n;
        }
        if (d > 0) {
            long c0 = System.nanoTime();
            if (CALL_PER_TABLE) {
                for (int g = 0; g < dGroups; g++) {
                    int s = dGroupStart[g];
                    int n = dGroupCount[g];
                    tier.readLater(handle[dGroupTable[g]], demoteRowsOf[dGroupTable[g]], n, slice(copyBytes, s, n),
                            copyFlags.slice(s, n), copied);
                }
            } else {
                tier.readLater(callTables, callRows, d, slice(copyBytes, 0, d), copyFlags.slice(0, d), copied);
            }
            countCall(d, c0);
        }
    }

    /**
     * A mover thread: once the demotions' copy has landed, the dirty rows of the groups nobody
     * claimed yet into the cold tier (they stay hot and dirty).
     */
    private void writeGroups() {
        int g;
        boolean landed = false;
        while ((g = nextWrite.getAndIncrement()) < dGroups) {
            if (!landed) {
                copied.await();
                landed = true;
            }
            int t = dGroupTable[g];
            int s = dGroupStart[g];
            long[] rows = demoteRowsOf[t];
            long[] out = writeRows[t];
            int w = 0;
            for (int k = 0, n = dGroupCount[g]; k < n; k++) {
                if (copyFlags.get(s + k) != 0) {
                    out[w] = rows[k];
                    writeBytes.put((s + w) * rowBytes, copyBytes, (s + k) * rowBytes, rowBytes);
                    w++;
                }
            }
            if (w > 0) {
                cold.get(t).put(out, w, slice(writeBytes, s, w));
                rowsWritten.add(w);
            }
        }
    }

    /**
     * Splits the chunk's promotions by table; a row a batch still writes back takes its bytes from
     * the newest such batch now (when its copy back from the device has landed; else at
     * publishing), the others are listed for the mover threads. Returns how many
     * are to be read.
     */
    private int groupPromotions() {
        landedAsking++;
        int p = chunk.promoteCount();
        boolean writing = !writeBehind.isEmpty();
        groups = 0;
        int toRead = 0;
        int i = 0;
        while (i < p) {
            int t = chunk.promoteTable(i);
            if (rowsOf[t] == null) {
                rowsOf[t] = new long[capacity];
                readRows[t] = new long[capacity];
                readAt[t] = new int[capacity];
            }
            groupTable[groups] = t;
            groupStart[groups] = i;
            int n = 0;
            int r = 0;
            while (i < p && chunk.promoteTable(i) == t) {
                long row = chunk.promoteRow(i);
                touched[i] = false;
                rowsOf[t][n++] = row;
                StepBatch e = writing ? writeBehind.newestWith(t, row) : null;
                if (e != null && landed(e)) {
                    // its misses are read back from the device behind the step, and that copy is done
                    promoteBytes.put(i * rowBytes, e.missAll, (e.missStart[t] + e.missIndex[t].get(row)) * rowBytes, rowBytes);
                    fromWriteBacks.increment();
                } else if (e != null) {
                    touched[i] = true; // not waited for: its newest bytes are taken at publishing
                } else {
                    readRows[t][r] = row;
                    readAt[t][r++] = i;
                }
                i++;
            }
            readCount[groups] = r;
            toRead += r;
            groupCount[groups++] = n;
        }
        return toRead;
    }

    /** The first mover task: hands the others to the mover threads, then does its own share. */
    private void fanOut() {
        int n = running; // written before this task was handed over
        for (int w = 1; w < n; w++) {
            try {
                moveThreads.execute(moveTasks[w]);
            } catch (RuntimeException e) { // rejected: shut down meanwhile
                taskFailure.compareAndSet(null, e);
                taskEnded();
            }
        }
        moveTasks[0].run();
    }

    /** Mover task {@code w}: its share of the chunk's cold-tier work; the last one to end completes it. */
    private void moveTask(int w) {
        try {
            moveAll(w);
        } catch (Throwable e) {
            taskFailure.compareAndSet(null, e);
        } finally {
            taskEnded();
        }
    }

    private void taskEnded() {
        if (tasksLeft.decrementAndGet() == 0) {
            Throwable e = taskFailure.get();
            if (e == null) {
                chunkWork.complete(null);
            } else {
                chunkWork.completeExceptionally(e);
            }
        }
    }

    /** Mover thread {@code w}: the listed promotions read from the cold tier into their places, then the writes. */
    private void moveAll(int w) {
        readGroups(moveReaders[w], readBytes[w]);
        writeGroups();
    }

    /** Reads the groups nobody has claimed yet, one at a time, with this thread's readers and scratch. */
    private void readGroups(ColdTable.Reader[] readers, ByteBuffer scratch) {
        int g;
        while ((g = nextGroup.getAndIncrement()) < groups) {
            int t = groupTable[g];
            int n = readCount[g];
            if (n > 0) {
                readers[t].gather(readRows[t], n, scratch);
                int[] at = readAt[t];
                for (int k = 0; k < n; k++) {
                    promoteBytes.put(at[k] * rowBytes, scratch, k * rowBytes, rowBytes);
                }
            }
            groupsRead.incrementAndGet();
        }
    }

    /**
     * The chunk is due: its cold-tier work must be complete. When the mover threads are behind (a
     * busy machine), the step thread reads the groups it has not begun, then waits for the rest
     * (the group it is on, and the demoted rows' writes).
     */
    private void finishRead() {
        if (running == 0) {
            return;
        }
        try {
            if (!chunkWork.isDone()) {
                long start = System.nanoTime();
                readGroups(stepReaders, rereadBytes);
                chunkWork.exceptionally(e -> null).join();
                readWaitNanos.add(System.nanoTime() - start);
            }
            BackgroundWork.await(chunkWork, "a move's cold-tier reads and writes"); // a failure says why
        } finally {
            running = 0;
            chunkWork = null;
        }
    }

    /**
     * Group {@code g} at publishing: takes kept rows written since the read from their newest
     * bytes, packs the kept rows to the group's front and puts them in the hot tier. A row whose
     * newest bytes are still on their way back from the device (the step just applied missed it)
     * is dropped rather than waited for: it stays pending. Returns how many were dropped.
     */
    private int settleGroup(int g, boolean mayReadCold) {
        landedAsking++;
        int t = groupTable[g];
        int s = groupStart[g];
        int n = groupCount[g];
        long[] rows = rowsOf[t];
        int again = 0;
        int late = 0;
        for (int k = 0; k < n; k++) {
            long row = rows[k];
            if (!keep[s + k] || !touched[s + k]) {
                continue;
            }
            StepBatch e = writeBehind.newestKeeping(t, row);
            if (e != null && !landed(e)) {
                keep[s + k] = false;
                dropped.increment();
                late++;
            } else if (e != null) {
                promoteBytes.put((s + k) * rowBytes, e.missAll, (e.missStart[t] + e.missIndex[t].get(row)) * rowBytes, rowBytes);
                fromWriteBacks.increment();
            } else if (mayReadCold) {
                rereadRows[again] = row; // its write landed after the read began: the cold tier has it now
                rereadAt[again++] = s + k;
            } else {
                keep[s + k] = false; // the same, at a step boundary: a later chunk reads it
                dropped.increment();
                rereadsPutOff.increment();
                late++;
            }
        }
        if (again > 0) {
            long r0 = System.nanoTime();
            stepReaders[t].gather(rereadRows, again, rereadBytes);
            rereadNanos += System.nanoTime() - r0;
            for (int j = 0; j < again; j++) {
                promoteBytes.put(rereadAt[j] * rowBytes, rereadBytes, j * rowBytes, rowBytes);
            }
            reread.add(again);
        }
        return late;
    }

    /**
     * The kept promotions of every group packed to the front of the row buffer (in chunk order,
     * so a row only ever moves down) and put in the hot tier in one call.
     */
    private void promoteKept() {
        int w = 0;
        for (int g = 0; g < groups; g++) {
            int t = groupTable[g];
            int s = groupStart[g];
            long[] rows = rowsOf[t];
            for (int k = 0, n = groupCount[g]; k < n; k++) {
                if (keep[s + k]) {
                    if (w != s + k) {
                        promoteBytes.put(w * rowBytes, promoteBytes, (s + k) * rowBytes, rowBytes);
                    }
                    callTables[w] = handle[t];
                    callRows[w++] = rows[k];
                }
            }
        }
        if (w == 0) {
            return;
        }
        MoveMark mark = promotedMarks[(int) ((chunkNumber - 1) & 1)];
        long c0 = System.nanoTime();
        if (CALL_PER_TABLE) {
            for (int from = 0; from < w; ) {
                int to = from;
                while (to < w && callTables[to] == callTables[from]) {
                    to++;
                }
                tier.promoteLater(callTables[from], java.util.Arrays.copyOfRange(callRows, from, to), to - from,
                        slice(promoteBytes, from, to - from), mark);
                from = to;
            }
        } else {
            tier.promoteLater(callTables, callRows, w, slice(promoteBytes, 0, w), mark);
        }
        countCall(w, c0);
    }

    /**
     * Whether batch {@code e}'s misses are back from the device: asked, or with {@link
     * #awaitDevice} waited for (so which rows move never depends on the device's timing).
     */
    /** Passes over the promotions (grouping, a group's settling) so far: {@link #landed} asks the device once a batch a pass. */
    private long landedAsking;

    private boolean landed(StepBatch e) {
        if (e.landedAskedBy == landedAsking) {
            return e.landedAnswer; // one answer a pass (a batch's next write-back comes in a later pass)
        }
        boolean landed;
        if (awaitDevice) {
            tier.awaitReserved(e.hot);
            landed = true;
        } else {
            landed = tier.reservedLanded(e.hot);
        }
        e.landedAskedBy = landedAsking;
        e.landedAnswer = landed;
        return landed;
    }

    private ByteBuffer slice(ByteBuffer buf, int firstRow, int rows) {
        return buf.slice(firstRow * rowBytes, rows * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer direct(long bytes) {
        return ByteBuffer.allocateDirect((int) Math.max(64, bytes)).order(ByteOrder.LITTLE_ENDIAN);
    }
}
