package dev.ember.cache.tiered;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.hot.HotBatch;
import dev.ember.cache.hot.StagedRows;
import dev.ember.cache.hotset.HotSet;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.Future;

/**
 * One batch on its way through a {@link TieredStore}: the caller fills {@link #ids(int)} per
 * table (or hands {@link TieredStore#submit(StepBatch, TieredStore.IdSource)} or
 * {@link TieredStore#announce} what fills them), then {@link TieredStore#submit} (or announce),
 * {@link TieredStore#gather}, {@link TieredStore#apply}.
 * Buffers are made once (by {@link TieredStore#newBatch()}) and reused; a warm batch allocates
 * nothing.
 *
 * <pre>
 *  per table t:
 *   ids[t]        PooledBatch: the caller's bags
 *   dedup[t]      unique ids, first-occurrence order, with their bags (gradient order)
 *   miss[t]       | m0 m1 ... |         unique ids cold in the pinned generation (missCount[t]): first
 *                                        the fetchCount[t] read from the cold tier, then those an earlier
 *                                        in-flight batch also misses (filled by its write-back)
 *   missStart[t]  where table t's misses start in missAll and in the reserved slots: the tables
 *                 take their places in the order their splits finish (packedMisses counts the rows)
 *  missAll        | t2's misses | t0's misses | t7's ... |   their rows (weights, state), row k of table t
 *                                        at missStart[t] + k, fetched from the cold tier; staged into the
 *                                        batch's reserved slots (stageBase + missStart[t] + k) in one copy of
 *                                        just the misses, read back after its apply in one, then written to
 *                                        the cold tier behind the next steps
 *   forwardFrom[t] the reserved slot of the earlier batch each forwarded miss is copied from
 *  all tables:
 *   hot           HotBatch: pooled bags and per-bag gradients where the hot tier computes, table t's
 *                 bags at [t * bagStride, t * bagStride + bags); one gather and one apply serve all
 *   idStart[t]    where table t's ids start in hot (prefix sums of the id counts), likewise
 *   uniqueStart[t], occurrenceStart[t] for the apply
 * </pre>
 */
public final class StepBatch implements AutoCloseable {
    static final int OPEN = 0;
    static final int SUBMITTED = 1;
    static final int GATHERED = 2;
    /** Applied; its misses are still on the way to the cold tier (ids may be filled meanwhile). */
    static final int WRITING = 3;
    /** Announced: its split runs on the step workers behind the caller; submitted once joined. */
    static final int ANNOUNCED = 4;

    final TieredStore owner;
    final PooledBatch[] ids;
    final DedupedIds[] dedup;
    final HotBatch hot;
    /** Bags of {@link #hot} each table owns: the config's maxBags. */
    final int bagStride;
    final int[] idStart;
    final int[] uniqueStart;
    final int[] occurrenceStart;
    final long[][] miss;
    final int[] missCount;
    /** The first fetchCount[t] misses are read from the cold tier; the rest come from earlier batches' write-back. */
    final int[] fetchCount;
    /** Scratch of submit: misses an earlier in-flight batch also has. */
    final long[][] forwarded;
    /** Unique ids of each table served hot (set by submit). */
    final int[] hotCount;
    /** Every table's misses' rows, packed: table t's from row missStart[t]; one copy each way. */
    final ByteBuffer missAll;
    /** Where each table's misses start in missAll and in the reserved slots (set by its split). */
    final int[] missStart;
    /** Misses placed so far by this submit's splits: all of them once every table is split. */
    final java.util.concurrent.atomic.AtomicInteger packedMisses = new java.util.concurrent.atomic.AtomicInteger();
    /** The first of this batch's reserved slots (table t, miss k: stageBase + missStart[t] + k); -1 when resident. */
    final long stageBase;
    /** Which of the store's areas of reserved slots it owns (-1: none). */
    final int area;
    /** Table t's staged rows, where gather and apply find its misses. */
    final StagedRows[] staged;
    /** Per table, the reserved slot each forwarded miss (k >= fetchCount) is copied from. */
    final long[][] forwardFrom;
    /** Scratch of gather: every table's forwarded rows' slots, from and to. */
    final long[] copyFrom;
    final long[] copyTo;
    private final int maxIds;
    private boolean closed;
    final RowIndex[] missIndex;
    final ColdTable.Reader[] readers;
    final Future<?>[] fetches;
    /** One task per table reading its misses ahead, made once so that submitting allocates no closure. */
    final Runnable[] fetchTasks;
    /** Submit's and apply's per-table work, made once so that a step allocates no closure. */
    /** Table {@code t}'s ids checked and deduplicated, split into hot and cold, its cold reads started: one pass of the workers. */
    final TableWorkers.TableTask dedupAndSplitTask;
    /** Each table's {@link dev.ember.cache.cold.ColdTable#preparePut} of the misses, on the write threads. */
    final TableWorkers.TableTask prepareWriteTask;
    /** One part of the misses' write-back ({@link TieredStore#WRITE_PART_ROWS} rows of one table at most). */
    final TableWorkers.TableTask writeBackTask;
    final Runnable writeAllTask;
    /** The write-behind of this batch's misses while it is WRITING. */
    Future<?> writeBack;
    /** The batch whose write-back was started after this one's, while this one's is under way (set by the step thread), or null. */
    volatile StepBatch nextWrite;
    /**
     * The mover's pass over promotions that last asked whether this batch's read-back landed, and
     * the answer (step thread): asked once a pass, not once a row (each asking takes the driver's lock).
     */
    long landedAskedBy = -1;
    boolean landedAnswer;
    /** Its write-back's tables were prepared in the run of the batch before (write-behind thread only), and what failed there. */
    boolean writePrepared;
    Throwable prepareFailure;
    /** When its write-behind was handed over (nanoTime), and each part's puts (nanoseconds): for {@link StepPhases}. */
    long writeQueuedAt;
    final long[] writeNanos;
    /**
     * The write-back's parts, in table order: part {@code p} puts rows
     * {@code partFrom[p]..min(partFrom[p] + WRITE_PART_ROWS, missCount[t])} of table {@code partTable[p]}.
     */
    final int[] partTable;
    final int[] partFrom;
    final TableWorkers.TableTask readTask;
    /** Table {@code t}'s gather and apply index arrays (row-to-slot translation), written behind the steps after submit. */
    final TableWorkers.TableTask stageTask;
    /** Fills the ids on the host threads during {@link TieredStore#submit(StepBatch, TieredStore.IdSource)}; null otherwise. */
    TieredStore.IdSource idSource;
    /** What went wrong staging this batch behind the steps (thrown by its gather), or null. */
    Throwable stagingFailure;
    /** What went wrong splitting this batch behind the caller ({@link TieredStore#announce}; thrown at the join), or null. */
    Throwable announceFailure;
    /** Whether the index arrays are staged or being staged (false: the gather stages them, -Dember.stage.behind=false). */
    boolean indexArraysStaged;
    final int rowBytes;
    HotSet generation;
    /** The store's submits up to this batch's last (1, 2, ...): which batches went in flight after a move was planned. */
    long submitted;
    int state = OPEN;
    long hotIds;
    long coldIds;

    StepBatch(TieredStore owner, int tables, int maxBags, int maxIds, int rowBytes, HotBatch hot,
              ColdTable.Reader[] readers, ByteBuffer missAll, long stageBase, int area) {
        this.owner = owner;
        this.rowBytes = rowBytes;
        this.ids = new PooledBatch[tables];
        this.dedup = new DedupedIds[tables];
        this.hot = hot;
        this.bagStride = maxBags;
        this.idStart = new int[tables + 1];
        this.uniqueStart = new int[tables + 1];
        this.occurrenceStart = new int[tables + 1];
        this.miss = new long[tables][];
        this.missCount = new int[tables];
        this.fetchCount = new int[tables];
        this.forwarded = new long[tables][];
        this.hotCount = new int[tables];
        this.missAll = missAll;
        this.missStart = new int[tables];
        this.stageBase = stageBase;
        this.area = area;
        this.maxIds = maxIds;
        this.staged = new StagedRows[tables];
        this.forwardFrom = new long[tables][];
        boolean reserved = stageBase >= 0;
        this.copyFrom = new long[reserved ? tables * maxIds : 0];
        this.copyTo = new long[reserved ? tables * maxIds : 0];
        this.missIndex = new RowIndex[tables];
        this.readers = readers;
        this.fetches = new Future<?>[tables];
        this.fetchTasks = new Runnable[tables];
        int parts = tables * ((maxIds + TieredStore.WRITE_PART_ROWS - 1) / TieredStore.WRITE_PART_ROWS);
        this.writeNanos = new long[parts];
        this.partTable = new int[parts];
        this.partFrom = new int[parts];
        this.dedupAndSplitTask = t -> {
            owner.dedup(this, t);
            owner.split(this, t);
            owner.startFetch(this, t);
        };
        this.prepareWriteTask = t -> owner.prepareWriteBack(this, t);
        this.writeBackTask = part -> owner.writeBackPart(this, part);
        this.writeAllTask = () -> owner.writeBackAll(this);
        this.readTask = t -> owner.read(this, t);
        this.stageTask = t -> owner.stage(this, t);
        for (int t = 0; t < tables; t++) {
            ids[t] = new PooledBatch(maxIds, maxBags);
            dedup[t] = new DedupedIds();
            miss[t] = new long[maxIds];
            forwarded[t] = new long[maxIds];
            missIndex[t] = new RowIndex();
            final int table = t;
            fetchTasks[t] = () -> readers[table].gather(miss[table], fetchCount[table], missAll, missStart[table] * rowBytes);
            forwardFrom[t] = new long[reserved ? maxIds : 0];
            staged[t] = !reserved ? null : row -> {
                int k = missIndex[table].get(row);
                return k < 0 ? -1 : slotOfMiss(table, k);
            };
        }
    }

    /** The reserved slot of table {@code t}'s miss number {@code k}. */
    long slotOfMiss(int t, int k) {
        return stageBase + missStart[t] + k;
    }

    /** The reserved slot where this batch staged {@code row} of table {@code t} (it must be one of its misses). */
    long slotOfRow(int t, long row) {
        return slotOfMiss(t, missIndex[t].get(row));
    }

    /** Table {@code t}'s bags, for the caller to fill (cleared when the batch was last applied). */
    public PooledBatch ids(int t) {
        if (state != OPEN && state != WRITING) {
            throw new IllegalStateException("batch is submitted: its ids cannot change until it is applied");
        }
        return ids[t];
    }

    /** Bags (samples) of table 0 in this batch. */
    public int bagCount() {
        return ids.length == 0 ? 0 : ids[0].bagCount();
    }

    /** Unique ids of this batch served by the hot tier (set by submit). */
    public long hotIds() {
        return hotIds;
    }

    /** Unique ids of this batch served by the cold tier (set by submit). */
    public long coldIds() {
        return coldIds;
    }

    /** True when every id is hot: the batch makes no host gathers. */
    public boolean allHot() {
        return coldIds == 0;
    }

    /**
     * The hot tier's buffers of every table (pooled bags, gradients), for a dense model on the
     * device: table {@code t}'s bags start at bag {@code t * }{@link #bagStride()}.
     */
    public HotBatch hotBatch() {
        return hot;
    }

    /** Bags of {@link #hotBatch()} each table owns (the store's maxBags). */
    public int bagStride() {
        return bagStride;
    }

    /** The hot-set generation the batch was pinned against (null before submit). */
    public HotSet generation() {
        return generation;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        owner.release(this); // first: its write-back may still read the batch's buffers
        hot.close();
    }
}
