package dev.ember.cache.tiered;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.durability.Blobs;
import dev.ember.cache.durability.Manifest;
import dev.ember.cache.hot.HotBatch;
import dev.ember.cache.hot.HotTier;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.hotset.HotSets;
import dev.ember.cache.jmx.MBeans;
import dev.ember.cache.knob.Budget;
import dev.ember.cache.knob.HotRowChooser;
import dev.ember.cache.knob.KnobChoice;
import dev.ember.cache.knob.KnobSchedule;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.store.Store;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.threads.RunDelay;
import dev.ember.cache.threads.ThreadEvents;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.LongAdder;
import org.roaringbitmap.PeekableIntIterator;
import org.roaringbitmap.RoaringBitmap;

/**
 * The one object a training loop talks to: embedding rows in two tiers, each row with a single
 * owner (its bit in the published {@link HotSet} generation: hot tier, else cold tier).
 *
 * <p><b>A step.</b> The caller fills a {@link StepBatch}'s ids per table, then
 * <ol>
 *   <li>{@link #submit}: takes the batch in flight against the current generation (no move
 *       touches its rows until it is applied: moves look them up in the batches in flight),
 *       deduplicates each table's ids and splits the unique ids into
 *       hot and cold (misses); with prefetch threads the misses are read from the cold tier now,
 *       on CPU threads, while earlier batches train (lookahead); the step workers then write the
 *       batch's index arrays for its gather and apply (each unique id's slot, found once) behind
 *       the caller, joined by the next boundary, submit or anything else that changes the hot
 *       tier's maps (the rows of a batch in flight keep their slots);</li>
 *   <li>{@link #gather}: reads the misses (unless prefetched) and stages them into the batch's
 *       own reserved slots of the hot tier in one copy; a miss an earlier batch also had is
 *       instead copied on the device from that batch's slot, where its apply left it (so later
 *       batches never read such rows from the cold tier, and nothing waits for the device); one
 *       gather pools every bag of every table from the index arrays staged since submit;</li>
 *   <li>{@link #apply}: one apply of the hot tier updates every row of every table, then the
 *       misses are read back from their slots in one copy behind the step and go to the cold
 *       tier ({@link ColdTable#put}) on the write-behind thread once that copy is done
 *       ({@link WriteBehind}), so prefetching and writing behind never change a result; the
 *       batch's unique ids are copied to the counting thread, which records them into the
 *       popularity counters behind the steps, in batch order ({@link PopularityCounting}: whatever
 *       reads the counts on the step thread waits for it first, and the knob's evaluation is started
 *       by the counting thread itself once it has counted the evaluation's step, so the counts, the
 *       knob's choices and the hot sets are those of counting at apply);</li>
 *   <li>{@link #endStep}: the knob's schedule may hand out a new target hot set; rows move toward
 *       it in bounded chunks, never rows an in-flight batch uses: a chunk planned at one boundary
 *       moves at the next whose check finds its cold-tier reads and writes, done behind the steps,
 *       finished ({@link Mover}; {@code -D}{@value #WAIT_AT_BOUNDARY_PROPERTY}{@code =true} makes
 *       every boundary wait), so a boundary costs the hot tier's calls and bookkeeping.</li>
 * </ol>
 *
 * <p><b>Why misses are staged in the hot tier.</b> Bit identity across modes needs every bag
 * summed as {@code 0 + r0 + r1 + ...} in bag order and every row's gradient summed over its bags
 * in {@link dev.ember.cache.batch.DedupedIds} order, whichever tier each row is in. Pooling hot
 * and cold parts apart and adding them would change the order of a multi-hot bag's sum. Staging
 * the batch's cold rows into slots lets one gather and one apply see every row: the
 * arithmetic is the hot tier's, already checked bit for bit against the host reference for every
 * backend. The price is one host-to-device copy of each missed row and one copy back, small next
 * to the cold tier's own read and write of that row (Chronicle: 0.5-0.9 us a row against a
 * sequential staging copy; PLATFORM.md); the alternative, pooling on the host, only pays off
 * when the hot tier is host memory, and would need a second code path. Staging slots are
 * reserved on top of the budget ({@link HotTier#reserveSlots}, below every hot row so that resizing
 * never moves them): {@code maxIds} per table for each of up to {@value #STAGING_AREAS} batches
 * open at once, so a batch's slots hold its rows until it is gathered again. Measured (before the
 * reserved slots, with the misses promoted into free slots and demoted after) with
 * {@code dev.ember.jmh.tiered.TieredStepBench} (4 tables x 200K rows, dim 16, Zipf 1.05, batch
 * 2048, host device) on the shared 2-core development machine (load 4-5; errors 20-100% of the
 * scores): with a one-row budget (every id a miss) 219 steps/s against the baseline cold path's
 * 272, so staging through the host device's copy loops costs about 20% when nothing hits; at a
 * 10% budget the tiered step ran 508 steps/s, about 1.9x the cold path, because hits skip
 * Chronicle. On a GPU the staging copies are pinned DMA; re-measure there before adding a
 * host-pooling path for {@code HostDevice}.
 *
 * <p><b>Counters.</b> Per table: unique ids served hot and cold, rows read from the cold tier
 * ({@link TableCounters}, shown in {@code dev.ember:type=Table}); the knob and re-tiering in
 * {@code dev.ember:type=Knob} ({@link KnobView}).
 *
 * <p><b>Checkpoint.</b> {@link #checkpoint} dumps the dirty hot rows into one sequential file
 * beside the store ({@link DirtyRowDump}, a {@link dev.ember.cache.durability.HotDump} the
 * manifest names) instead of putting each into the cold tier (a random Chronicle put, about 1-4
 * us a row), and stores the hot sets (current and target), the popularity counters, the knob's
 * schedule and the counters as manifest blobs. Dirty bits stay set: a dumped row is still newer
 * than its cold copy, so it is written back when demoted and dumped again until then.
 * {@link dev.ember.cache.store.Store#open} puts the dump's rows into the tables; {@link #open}
 * over the reopened store restores the blobs and promotes the hot rows again, so every value,
 * the hot set, the counters and the knob are exactly those of the checkpoint.
 *
 * <p>One thread drives a tiered store (the step thread); {@link #setBudget} and the MXBeans may be
 * used from any thread. The store and the hot tier belong to the caller, who closes them after
 * this.
 */
public final class TieredStore implements AutoCloseable {
    public static final String HOT_SETS_BLOB = "tiered.hotsets";
    /** The popularity counters' side file ({@link dev.ember.cache.durability.SideFile}): 8 bytes a counted row. */
    public static final String COUNTERS_SIDE = "tiered-popularity";
    /** Where stores checkpointed before the counters had a side file kept them: read, never written. */
    public static final String COUNTERS_BLOB = "tiered.popularity";
    public static final String KNOB_BLOB = "tiered.knob";
    public static final String STATS_BLOB = "tiered.stats";
    private static final int STATS_MAGIC = 0x45545331; // "ETS1"

    private final Store store;
    private final HotTier tier;
    private final TieredConfig config;
    private final List<TableSpec> specs;
    private final List<ColdTable> cold;
    private final int tableCount;
    private final int[] handle;
    private final int rowBytes;
    private final long stagingSlots;
    /** Moves a step boundary starts at most. */
    private final int stepMoves;
    /** Moves a chunk takes at most while settling: 8192, or fewer rows when they are large. */
    static final int SETTLE_MOVES = 8192;
    /** The bytes of one chunk's rows while settling at most (the mover keeps a dozen such buffers). */
    static final int SETTLE_CHUNK_BYTES = 2 << 20;
    private final int settleMoves;
    /** The step thread's CPU time at boundaries (wall time beyond it was waiting or preempted). */
    private static final java.lang.management.ThreadMXBean THREAD_CPU = java.lang.management.ManagementFactory.getThreadMXBean();
    /** The hot tier's resizes (re-tiering between two hot sets of different sizes) and the step thread's time in them. */
    private long resizes;
    private long resizeNanos;
    /** Batches made at once at most: each owns an area of reserved slots for its misses. */
    static final int STAGING_AREAS = 8;
    /** The first reserved slot: area a (tables * maxIds slots) starts at stagingBase + a * tables * maxIds, its batch's misses packed from there. */
    private long stagingBase;
    private final boolean[] areaTaken = new boolean[STAGING_AREAS];
    private final HotSets hotSets;
    private final DecayingCounters popularity;
    /** Counts applied batches into {@link #popularity} behind the steps (null in resident mode). */
    private final PopularityCounting counting;
    /** Drains {@link #counting} before the knob reads or freezes the counts (made once: no closure a step). */
    private final Runnable drainCounting;
    /** Runs a task on the counting thread once it has counted every batch handed over before (the knob's evaluations). */
    private final java.util.concurrent.Executor countedThrough;
    private final KnobSchedule knob;
    private final TableCounters[] counters;
    private final ExecutorService prefetcher;
    private final TableWorkers workers;
    /** Applied batches' misses on their way to the cold tier, behind the steps. */
    private final WriteBehind writeBehind;
    /** The write-behind thread's per-table threads. */
    /** Rows promoted from the bytes of a batch that wrote them back (still writing, or landed and not reused), not from the cold tier. */
    private final LongAdder promotedFromWriteBacks = new LongAdder();
    private final TableWorkers writeWorkers;
    /** Writers of the write-back's parts, [table][part of the table], made at first use (see {@link #WRITE_PART_ROWS}). */
    private final ColdTable.Writer[][] writers;
    private final StepPhases phases = new StepPhases();
    private final ArrayDeque<StepBatch> inFlight = new ArrayDeque<>();
    /** The batch whose index arrays the step workers are staging behind the caller (joinStaging), or null. */
    private StepBatch staging;
    /** The batch {@link #announce}d last, split by the step workers behind the caller until joinStaging submits it, or null. */
    private StepBatch announced;
    /** An announced batch, joined and submitted, whose index arrays the next announce's run stages, or null. */
    private StepBatch toStage;
    /** The run an announce starts: its batch's split, and the staging of the batch announced before. */
    private final AnnounceRun announceRun = new AnnounceRun();
    private final long[] submitWaits = new long[2];
    /** The thread that submits (the last one to): staging tasks it runs itself are counted apart. */
    private volatile Thread stepThread;
    /** Whether popularity is counted on the step thread's workers (-Dember.count.behind=false). */
    private final boolean countingOnStepThread;
    /**
     * Submit's snapshot, oldest first: the batches still writing back ({@code earlierWriting} of
     * them), then those in flight; split looks rows up here without iterating the deques.
     */
    private StepBatch[] earlier = new StepBatch[4];
    private int earlierCount;
    private int earlierWriting;
    /** Moves chunks of rows at step boundaries, the cold tier's half behind the steps. */
    private final Mover mover;
    /**
     * Set to true to have every step boundary wait for the chunk in transit's cold-tier work (read
     * when a tiered store opens). By default a boundary that finds it not done leaves the chunk in
     * transit and publishes it at a later boundary ({@link Mover}): values never depend on this,
     * only which boundary a row moves at does (with it set, that depends only on the calls, never
     * on thread timing: runs compared hot set by hot set want it).
     */
    public static final String WAIT_AT_BOUNDARY_PROPERTY = "ember.move.waitAtBoundary";
    private final boolean waitAtBoundary;
    /**
     * {@code -Dember.stage.behind=false}: a batch's index arrays are staged by its gather, on the
     * step workers with the step thread waiting (for comparing runs), not behind the caller from
     * its submit on.
     */
    public static final String STAGE_BEHIND_PROPERTY = "ember.stage.behind";
    private final boolean stageBehind;
    /**
     * {@code -Dember.boundary.runDelay=true}: each step boundary reads how long the step thread
     * waited for a core ({@link RunDelay}, about 2 us a read) and its page faults and context
     * switches ({@link ThreadEvents}, a few us), kept with the boundaries over 1 ms to tell a busy
     * host from a thread blocked, and a blocked one faulting pages in from one waiting on a lock.
     * Off by default: a diagnosis, not a figure.
     */
    public static final String RUN_DELAY_PROPERTY = "ember.boundary.runDelay";
    private final boolean readRunDelay = Boolean.getBoolean(RUN_DELAY_PROPERTY);
    /** The step thread's run delay reader (opened by the first boundary to read it; null until then or where none). */
    private RunDelay runDelay;
    /** The step thread's faults and switches reader, opened beside {@link #runDelay}; its counts at the boundary's start and end. */
    private ThreadEvents threadEvents;
    private final long[] events0 = new long[ThreadEvents.COUNTS];
    private final long[] events1 = new long[ThreadEvents.COUNTS];
    /** Stacks of slow boundaries ({@code -Dember.boundary.watch=true}), or null. */
    private final BoundaryWatch watch = BoundaryWatch.wanted() ? new BoundaryWatch() : null;
    /** Bulk copies (checkpoint write-back, reopen, resident loads) go in chunks of this many rows. */
    private static final int IO_ROWS = 8192;
    private final long[] ioRows = new long[IO_ROWS];
    private ByteBuffer ioBuf;
    private final DirtyRowDump dump;
    private final MBeans mbeans;
    private volatile Budget budget;
    private volatile KnobChoice lastChoice;

    // Re-tiering since the last retarget (read by the Knob MXBean).
    private volatile long lastPromoted;
    private volatile long lastDemoted;
    private volatile long retierNanos;
    private volatile long stallNanos;
    private boolean closed;

    private TieredStore(Store store, HotTier tier, TieredConfig config, ExecutorService givenWriteBehind,
                        ExecutorService givenMoveThreads) {
        dev.ember.cache.threads.BackgroundPriority.batchPolicy(); // a bad -Dember.background.policy fails here, before any thread
        this.store = store;
        this.tier = tier;
        this.config = config;
        this.cold = store.tables();
        this.tableCount = cold.size();
        this.writeRun = new WriteRun();
        this.specs = new ArrayList<>();
        for (ColdTable t : cold) {
            specs.add(t.spec());
        }
        RowLayout layout = tier.layout();
        for (TableSpec s : specs) {
            if (!s.layout().equals(layout)) {
                throw new IllegalArgumentException("table " + s.name() + " has layout " + s.layout() + " but the hot tier holds "
                        + layout + "; a tiered store needs one layout for all tables (one hot tier per layout)");
            }
        }
        this.rowBytes = layout.bytesPerRow();
        this.stagingSlots = config.resident() ? 0 : (long) STAGING_AREAS * config.maxIds() * tableCount;
        this.budget = config.budget();
        this.handle = new int[tableCount];
        this.counters = new TableCounters[tableCount];
        this.ioBuf = direct((long) IO_ROWS * rowBytes);

        if (store.hasUnfoldedHotDump()) {
            throw new IllegalStateException("store " + store.directory() + ": the hot rows of its last checkpoint live in"
                    + " another hot tier and its dump, not in the tables; close the store and open it again (Store.open"
                    + " puts the dump's rows into the tables) before opening a tiered store over it");
        }
        Manifest last = store.lastCheckpoint();
        byte[] setsBlob = last.blobs().get(HOT_SETS_BLOB);
        if (config.resident()) {
            long rows = 0;
            RoaringBitmap[] all = new RoaringBitmap[tableCount];
            for (int t = 0; t < tableCount; t++) {
                rows += specs.get(t).rows();
                all[t] = new RoaringBitmap();
                all[t].add(0L, specs.get(t).rows());
            }
            fit(rows);
            for (int t = 0; t < tableCount; t++) {
                handle[t] = tier.addResidentTable(specs.get(t), last.seed(), t);
                if (cold.get(t).rowsStored() > 0) {
                    loadResident(t); // a resumed run: the checkpoint's rows replace the initial values
                }
            }
            this.hotSets = new HotSets(HotSet.of(0, specs, all));
            this.popularity = null;
            this.knob = null;
        } else {
            // Sized to the budget before its tables come: a tier may shape a table's host
            // structures by the slots it has (the GPU pool picks each table's row-to-slot index so).
            fit(budgetRows());
            for (int t = 0; t < tableCount; t++) {
                handle[t] = tier.addTable(specs.get(t));
            }
            if (setsBlob != null) {
                this.hotSets = HotSets.fromBytes(setsBlob, specs);
                this.popularity = last.blobs().containsKey(COUNTERS_BLOB)
                        ? DecayingCounters.fromBytes(last.blobs().get(COUNTERS_BLOB), specs)
                        : store.readSide(COUNTERS_SIDE, in -> DecayingCounters.readFrom(in, specs));
                byte[] k = last.blobs().get(KNOB_BLOB);
                this.knob = k == null ? null : KnobSchedule.fromBytes(k, popularity, hotSets);
                if (knob != null) {
                    this.budget = knob.budget();
                    this.lastChoice = knob.lastChoice();
                }
            } else {
                this.hotSets = new HotSets(HotSet.empty(specs));
                this.popularity = new DecayingCounters(specs, DecayingCounters.decayForHalfLife(config.halfLifeSteps()));
                this.knob = config.knobPeriod() == 0 ? null : new KnobSchedule(popularity, hotSets.current(), config.mode(),
                        budget, config.hysteresis(), config.knobPeriod(), config.knobLag(),
                        hotSets);
            }
            HotSet current = hotSets.current();
            HotSet target = hotSets.target();
            fit(Math.max(Math.max(current.totalHotRows(), target == null ? 0 : target.totalHotRows()), budgetRows()));
            this.stagingBase = tier.reserveSlots(stagingSlots);
            for (int t = 0; t < tableCount; t++) {
                promoteAll(t, current.rowsCopy(t));
            }
        }
        hotSets.trackRowsInUse(rowsInUse);
        this.dump = new DirtyRowDump(tier, handle, IO_ROWS);
        for (int t = 0; t < tableCount; t++) {
            final int table = t;
            counters[t] = new TableCounters(() -> hotSets.current().hotRows(table));
        }
        byte[] stats = last.blobs().get(STATS_BLOB);
        if (stats != null && setsBlob != null) {
            readStats(stats);
        }
        this.workers = new TableWorkers(config.hostThreads(), "ember-step");
        this.writeWorkers = new TableWorkers(TableWorkers.threadsAsSet(WRITE_THREADS_PROPERTY, config.hostThreads(),
                "the write-behind"), "ember-write", true, WRITES_LOWERED);
        this.writers = new ColdTable.Writer[tableCount][(config.maxIds() + WRITE_PART_ROWS - 1) / WRITE_PART_ROWS];
        if (popularity == null) {
            this.counting = null;
        } else if (PopularityCounting.behindAsSet()) {
            this.counting = PopularityCounting.behind(popularity, tableCount, config.maxIds(),
                    PopularityCounting.threads(config.hostThreads()));
        } else {
            this.counting = PopularityCounting.onStepThread(popularity, tableCount, workers);
        }
        this.countingOnStepThread = counting != null && !PopularityCounting.behindAsSet();
        this.drainCounting = counting == null ? null : counting::drain;
        this.countedThrough = counting == null ? null : counting::runAfterCounts;
        this.writeBehind = new WriteBehind(givenWriteBehind);
        // One chunk of chunksPerStep x chunkRows moves a boundary: its promotions publish at the next.
        // Settling takes chunks of up to SETTLE_MOVES: each spans the tables with enough rows
        // for the mover threads to share (512-row chunks, a few rows a table, kept FAE's window
        // moves waiting 1.6-1.9 s of a 24-27 s run).
        this.stepMoves = Math.multiplyExact(config.chunkRows(), config.chunksPerStep());
        this.settleMoves = Math.max(stepMoves, Math.min(SETTLE_MOVES, SETTLE_CHUNK_BYTES / rowBytes));
        this.waitAtBoundary = Boolean.getBoolean(WAIT_AT_BOUNDARY_PROPERTY);
        this.stageBehind = !"false".equals(System.getProperty(STAGE_BEHIND_PROPERTY));
        this.mover = new Mover(tier, handle, cold, hotSets, rowsInUse, writeBehind, rowBytes, settleMoves,
                promotedFromWriteBacks, givenMoveThreads, waitAtBoundary);
        writeBehind.watch(mover);
        this.prefetcher = config.prefetchThreads() == 0 || config.resident() ? null
                : Executors.newFixedThreadPool(config.prefetchThreads(), r -> {
                    Thread th = new Thread(dev.ember.cache.threads.BackgroundPriority.lowered(r), "ember-prefetch");
                    th.setDaemon(true);
                    return th;
                });
        if (store.jmxEnabled()) {
            for (int t = 0; t < tableCount; t++) {
                store.attachTierStats(specs.get(t).name(), counters[t]);
            }
            this.mbeans = new MBeans(store.directory().toString());
            mbeans.registerKnob(new KnobView(this));
        } else {
            this.mbeans = null;
        }
    }

    /**
     * Opens a tiered store over {@code store} (created or reopened) and {@code tier} (empty, of the
     * tables' row layout). A store checkpointed by a tiered store gets its hot set, counters and
     * knob back and its hot rows promoted again.
     */
    public static TieredStore open(Store store, HotTier tier, TieredConfig config) {
        return new TieredStore(store, tier, config, null, null);
    }

    /**
     * As {@link #open(Store, HotTier, TieredConfig)}, with the applied batches' writes to the cold
     * tier run on {@code writeBehind} (one task a batch, run in order; the caller shuts it down
     * after closing this store): how a test makes those writes lag behind the steps.
     */
    public static TieredStore open(Store store, HotTier tier, TieredConfig config, ExecutorService writeBehind) {
        return new TieredStore(store, tier, config, java.util.Objects.requireNonNull(writeBehind, "writeBehind"), null);
    }

    /**
     * As {@link #open(Store, HotTier, TieredConfig, ExecutorService)}, with the cold-tier half of
     * the moves run on {@code moveThreads} too (a few tasks a chunk; the caller shuts it down after
     * closing this store): how a test holds a chunk's cold-tier work back past its boundary.
     * Either may be null: the store's own threads.
     */
    public static TieredStore open(Store store, HotTier tier, TieredConfig config, ExecutorService writeBehind,
                                   ExecutorService moveThreads) {
        return new TieredStore(store, tier, config, writeBehind, moveThreads);
    }

    // ------------------------------------------------------------------ batches

    /**
     * Rows promoted from the bytes of a batch that wrote them back to the cold tier, its write still
     * under way or landed and the batch not submitted again since, rather than read from the tier.
     */
    public long rowsPromotedFromWriteBacks() {
        return promotedFromWriteBacks.sum();
    }

    /** Step-thread time in each part of the steps so far. */
    public StepPhases phases() {
        return phases;
    }

    /** How many batches of one tiered store may be open at once (each owns reserved hot slots for its misses). */
    public static int maxOpenBatches() {
        return STAGING_AREAS;
    }

    /**
     * A batch buffer sized by the config's {@code maxBags} and {@code maxIds}; close it after use.
     * At most {@value #STAGING_AREAS} batches may be open at once (each owns reserved slots).
     */
    public StepBatch newBatch() {
        int area = -1;
        if (!config.resident()) {
            for (int a = 0; a < STAGING_AREAS && area < 0; a++) {
                area = areaTaken[a] ? -1 : a;
            }
            if (area < 0) {
                throw new IllegalStateException("at most " + STAGING_AREAS + " batches of one tiered store may be open at"
                        + " once (each owns hot slots for its misses); close one first");
            }
        }
        HotBatch hot = tier.newBatch(tableCount * config.maxBags(), tableCount * config.maxIds());
        ColdTable.Reader[] readers = new ColdTable.Reader[tableCount];
        // The tier's own row buffer (page-locked on a GPU), one for all tables, the misses packed
        // in it: they go to and come back from their reserved slots in one copy each way of just
        // their bytes.
        ByteBuffer all = config.resident() ? ByteBuffer.allocateDirect(64) : tier.newRowBuffer(tableCount * config.maxIds());
        for (int t = 0; t < tableCount; t++) {
            readers[t] = cold.get(t).newReader();
        }
        long base = area < 0 ? -1 : stagingBase + (long) area * tableCount * config.maxIds();
        if (area >= 0) {
            areaTaken[area] = true;
        }
        return new StepBatch(this, tableCount, config.maxBags(), config.maxIds(), rowBytes, hot, readers, all,
                base, area);
    }

    /** A batch being closed: its write-back finishes; its reserved slots go to the next batch made. */
    void release(StepBatch b) {
        if (staging == b || announced == b) {
            joinStagingQuietly(); // the workers write into its buffers
        }
        if (toStage == b) {
            toStage = null;
        }
        if (b.state == StepBatch.WRITING) {
            writeBehind.finish(b);
        }
        writeBehind.reuse(b);
        if (b.area >= 0) {
            areaTaken[b.area] = false;
        }
    }

    /** Fills one table's bags of a batch being submitted, on the store's host threads ({@link #submit(StepBatch, IdSource)}). */
    @FunctionalInterface
    public interface IdSource {
        /** Replaces {@code out}'s bags with table {@code table}'s; tables are filled at once, each by one thread. */
        void fill(int table, PooledBatch out);
    }

    /**
     * Pins the batch's rows, splits each table's unique ids into hot and cold, and (with prefetch
     * threads) starts reading the cold rows. Batches are gathered and applied in submit order.
     */
    public void submit(StepBatch b) {
        checkOwn(b, StepBatch.OPEN, "submit");
        for (int t = 0; t < tableCount; t++) {
            checkSize(b, t);
        }
        pinAndSplit(b, null);
    }

    /**
     * As {@link #submit(StepBatch)}, with each table's bags filled by {@code ids} first, on the
     * host threads that deduplicate and split them (the caller's thread is one): a caller with
     * many tables spends no time of its own copying ids in. The batch's previous ids are replaced.
     */
    public void submit(StepBatch b, IdSource ids) {
        java.util.Objects.requireNonNull(ids, "ids (submit(batch) takes the batch's ids as they are)");
        checkOwn(b, StepBatch.OPEN, "submit");
        pinAndSplit(b, ids);
    }

    /**
     * As {@link #submit(StepBatch, IdSource)}, behind the caller: returns once the step workers
     * have started on the batch (filling, deduplicating and splitting its tables, starting their
     * cold reads, and staging the index arrays of the batch announced before it), so the caller
     * trains earlier batches meanwhile. The next call on this store that needs the workers or the
     * batches in flight (the next announce or submit, a gather, a step boundary, a checkpoint...)
     * joins it; the batch is then submitted as if by {@code submit}, against the generation
     * current at this call, and trains the same rows bit for bit. Until then {@code ids} must keep
     * answering. A failure (an id out of range, a table over the batch's sizes) is thrown by that
     * joining call, and leaves this batch open and counted nowhere, as a failed submit does.
     */
    public void announce(StepBatch b, IdSource ids) {
        java.util.Objects.requireNonNull(ids, "ids (the tables are filled behind the caller)");
        checkOwn(b, StepBatch.OPEN, "announce");
        long[] waits = prepareSubmit(b);
        b.idSource = ids;
        b.announceFailure = null;
        b.state = StepBatch.ANNOUNCED;
        StepBatch behind = toStage;
        toStage = null;
        if (behind != null) {
            behind.indexArraysStaged = true;
            staging = behind;
        }
        announced = b;
        long t1 = System.nanoTime();
        announceRun.start(b, behind);
        phases.submitted(waits[0], waits[1], System.nanoTime() - t1, 0);
    }

    /** A submit: {@code ids} (if not null) fill the tables on the host threads, which check their sizes then. */
    private void pinAndSplit(StepBatch b, IdSource ids) {
        long[] waits = prepareSubmit(b);
        b.idSource = ids;
        long t1 = System.nanoTime();
        try {
            // Per table, so one pass: no table waits for another, and each table's cold reads
            // start as soon as its split is done.
            workers.run(tableCount, b.dedupAndSplitTask);
        } catch (RuntimeException | Error e) {
            abandonFetches(b); // the tables split before the failure: nothing may still write into the batch
            throw e;
        } finally {
            b.idSource = null;
        }
        long t2 = System.nanoTime();
        finishSubmit(b);
        b.indexArraysStaged = false;
        if (stageBehind) {
            workers.start(tableCount, b.stageTask);
            staging = b;
            b.indexArraysStaged = true;
        }
        phases.submitted(waits[0], waits[1], t2 - t1, System.nanoTime() - t2);
    }

    /**
     * A submit's or announce's start on the step thread: joins the workers, takes the batch's
     * buffers back from its last write-back and the device's copies, snapshots the batches it may
     * forward rows from, and pins the current generation. Returns the nanoseconds waited for the
     * write-back and for the rest.
     */
    private long[] prepareSubmit(StepBatch b) {
        long t0 = System.nanoTime();
        stepThread = Thread.currentThread();
        joinStaging();
        if (b.state == StepBatch.WRITING) {
            writeBehind.finish(b); // its buffers are about to be refilled
        }
        writeBehind.reuse(b);
        long tWritten = System.nanoTime();
        if (!config.resident()) {
            tier.awaitReserved(b.hot); // its last copies from and into the miss buffer are done
        }
        writeBehind.reap();
        int flying = inFlight.size() + writeBehind.size();
        if (earlier.length < flying) {
            earlier = new StepBatch[Math.max(4, 2 * flying)];
        }
        earlierCount = writeBehind.copyTo(earlier);
        earlierWriting = earlierCount;
        for (StepBatch e : inFlight) {
            earlier[earlierCount++] = e;
        }
        // Nothing is pinned: moves ask rowInUse, which looks in the few batches in flight.
        b.generation = hotSets.current();
        b.indexArraysStaged = false;
        b.packedMisses.set(0); // the splits take their tables' places in the miss buffer from here
        submitWaits[0] = tWritten - t0;
        submitWaits[1] = System.nanoTime() - tWritten;
        return submitWaits;
    }

    /** A split batch taken in flight: the index arrays' offsets, its hit and miss counts. */
    private void finishSubmit(StepBatch b) {
        // The gather's and apply's index arrays (row-to-slot translation) are written behind the
        // caller: the rows of a batch in flight keep their slots until it is applied, and the
        // hot tier's maps change only at step boundaries, which join this first (joinStaging).
        for (int t = 0; t < tableCount; t++) {
            DedupedIds d = b.dedup[t];
            int u = d.uniqueCount();
            b.idStart[t + 1] = b.idStart[t] + b.ids[t].idCount();
            b.uniqueStart[t + 1] = b.uniqueStart[t] + u;
            b.occurrenceStart[t + 1] = b.occurrenceStart[t] + (u == 0 ? 0 : d.occStart()[u]);
        }
        b.stagingFailure = null;
        long hot = 0;
        long coldIds = 0;
        for (int t = 0; t < tableCount; t++) {
            hot += b.hotCount[t];
            coldIds += b.missCount[t];
            counters[t].hotIds.add(b.hotCount[t]); // counted once the whole batch is accepted
            counters[t].coldIds.add(b.missCount[t]);
        }
        b.hotIds = hot;
        b.coldIds = coldIds;
        b.state = StepBatch.SUBMITTED;
        b.submitted = ++submits;
        inFlight.addLast(b);
    }

    /** Table {@code t} of a batch being submitted (on a {@link TableWorkers} thread): ids filled if asked, checked and deduplicated. */
    void dedup(StepBatch b, int t) {
        if (b.idSource != null) {
            b.idSource.fill(t, b.ids[t]);
            checkSize(b, t);
        }
        checkRows(t, b.ids[t]);
        b.dedup[t].build(b.ids[t]);
    }

    /**
     * Table {@code t} of a batch being submitted and pinned (on a {@link TableWorkers} thread): its
     * unique ids split into hot and cold against the batch's generation.
     */
    void split(StepBatch b, int t) {
        var d = b.dedup[t];
        int n = d.uniqueCount();
        int m = 0;
        int f = 0;
        if (!config.resident()) {
            long[] unique = d.unique();
            long[] miss = b.miss[t];
            long[] later = b.forwarded[t];
            HotSet gen = b.generation;
            for (int u = 0; u < n; u++) {
                long row = unique[u];
                if (gen.contains(t, row)) {
                    continue;
                }
                if (missedInFlight(t, row)) {
                    later[m - f] = row; // an earlier batch writes it back: forwarded, not read
                } else {
                    miss[f++] = row;
                }
                m++;
            }
            System.arraycopy(later, 0, miss, f, m - f);
            b.missIndex[t].build(miss, m);
            b.missStart[t] = b.packedMisses.getAndAdd(m); // the table's place among the batch's misses
            long[] from = b.forwardFrom[t];
            for (int k = f; k < m; k++) {
                // The newest earlier batch missing the row leaves it updated in its reserved slot
                // (it is gathered and applied before this one, and its slots are only refilled
                // when it is gathered again, after this one): a copy on the device forwards it.
                from[k - f] = latestMissing(t, miss[k]).slotOfRow(t, miss[k]);
            }
        }
        b.missCount[t] = m;
        b.fetchCount[t] = f;
        b.hotCount[t] = n - m;
    }

    /** Table {@code t} of a batch being submitted, split (on a {@link TableWorkers} thread): its cold reads start. */
    void startFetch(StepBatch b, int t) {
        if (prefetcher != null && b.fetchCount[t] > 0) {
            b.fetches[t] = prefetcher.submit(b.fetchTasks[t]);
        }
    }

    /** A submit that failed: waits out the cold reads its tables started (their failures are not news) and forgets them. */
    private void abandonFetches(StepBatch b) {
        for (int t = 0; t < tableCount; t++) {
            Future<?> f = b.fetches[t];
            if (f != null) {
                b.fetches[t] = null;
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (ExecutionException ignored) {
                    // the submit's own failure is the one to report
                }
            }
        }
    }

    /**
     * Whether a batch in flight (submitted, not yet applied) uses {@code row} of table {@code t}:
     * moves leave it. Moves say which tier a row is in (no bitmap lookup: three of them a moved row).
     */
    private final HotSets.RowsInUse rowsInUse = new HotSets.RowsInUse() {
        @Override
        public boolean inUse(int table, long row) {
            return inUse(table, row, hotSets.current().contains(table, row));
        }

        @Override
        public boolean inUse(int t, long row, boolean hot) {
            for (StepBatch b : inFlight) {
                if (b.dedup[t].indexOf(row) >= 0) {
                    return true;
                }
            }
            // A demotion's write must land after the write-back still carrying an older value of
            // the row (it was promoted since, from that batch's bytes: see readPromoted).
            return hot && writeBehind.holds(t, row);
        }

        @Override
        public long mark() {
            return submits;
        }

        @Override
        public boolean inUseSince(int t, long row, long mark) {
            for (StepBatch b : inFlight) {
                if (b.submitted > mark && b.dedup[t].indexOf(row) >= 0) {
                    return true;
                }
            }
            return false;
        }
    };
    /** Batches submitted so far (the last one's {@link StepBatch#submitted}). */
    private long submits;

    /**
     * Whether an earlier batch, in flight or still writing back, also misses {@code row} of table
     * {@code t}: then this batch takes the row from it, never from the cold tier.
     */
    private boolean missedInFlight(int t, long row) {
        return latestMissing(t, row) != null;
    }

    /** The newest batch of submit's snapshot that misses {@code row} of table {@code t}, or null. */
    private StepBatch latestMissing(int t, long row) {
        for (int i = earlierCount - 1; i >= 0; i--) {
            if (earlier[i].missIndex[t].get(row) >= 0) {
                return earlier[i];
            }
        }
        return null;
    }

    private void checkSize(StepBatch b, int t) {
        if (b.ids[t].bagCount() > config.maxBags() || b.ids[t].idCount() > config.maxIds()) {
            throw new IllegalArgumentException("table " + specs.get(t).name() + ": batch of " + b.ids[t].bagCount()
                    + " bags and " + b.ids[t].idCount() + " ids exceeds maxBags " + config.maxBags() + " / maxIds "
                    + config.maxIds() + " (TieredConfig.withBatch)");
        }
    }

    private void checkRows(int t, PooledBatch ids) {
        long rows = specs.get(t).rows();
        long[] a = ids.ids();
        for (int i = 0, n = ids.idCount(); i < n; i++) {
            if (a[i] < 0 || a[i] >= rows) {
                throw new IllegalArgumentException("table " + specs.get(t).name() + ": id " + a[i] + " is outside [0, " + rows + ")");
            }
        }
    }

    /**
     * Pools every bag of the batch on the hot tier; with {@code pooled} non-null also copies table
     * t's pooled bags into {@code pooled[t]} (bags x dim floats).
     */
    public void gather(StepBatch b, float[][] pooled) {
        if (b == announced) {
            joinStaging(); // announced just now (look-ahead shorter than a step's run)
        }
        checkOwn(b, StepBatch.SUBMITTED, "gather");
        if (inFlight.peekFirst() != b) {
            throw new IllegalStateException("batches are gathered in the order they were submitted");
        }
        long t0 = System.nanoTime();
        awaitFetches(b);
        if (b.coldIds > 0 && prefetcher == null) {
            joinStaging();
            workers.run(tableCount, b.readTask);
        }
        long t1 = System.nanoTime();
        if (b.coldIds > 0) {
            stageMisses(b);
        }
        long t2 = System.nanoTime();
        if (staging == b) {
            joinStaging(); // submitted just now (no look-ahead)
        }
        if (toStage == b) {
            toStage = null; // staged here, not by the next announce
        }
        if (!b.indexArraysStaged) {
            joinStaging();
            b.indexArraysStaged = true;
            try {
                workers.run(tableCount, b.stageTask);
            } catch (RuntimeException | Error e) {
                b.stagingFailure = e; // thrown below, and by any later gather of this batch, as when staged behind
            }
        }
        if (b.stagingFailure != null) {
            Throwable f = b.stagingFailure;
            if (f instanceof RuntimeException e) {
                throw e;
            }
            throw new IllegalStateException("staging the batch's index arrays failed", f);
        }
        // The index arrays are staged (submit); one launch pools every table.
        tier.gatherStaged(b.hot, tableCount * b.bagStride, b.idStart[tableCount]);
        long t3 = System.nanoTime();
        phases.coldReads.add(t1 - t0);
        phases.stage.add(t2 - t1);
        phases.gather.add(t3 - t2);
        if (pooled != null) {
            for (int t = 0; t < tableCount; t++) {
                b.hot.readPooled(pooled[t], t * b.bagStride, b.ids[t].bagCount());
            }
        }
        b.state = StepBatch.GATHERED;
    }

    /**
     * Applies per-bag gradients ({@code grads[t]}: bags x dim floats; null when the caller wrote
     * them into the batch's {@link StepBatch#hotBatch} itself) to every row of the batch, writes
     * the staged misses back to the cold tier and releases the batch.
     */
    public void apply(StepBatch b, float[][] grads, float lr, float eps) {
        checkOwn(b, StepBatch.GATHERED, "apply");
        long t0 = System.nanoTime();
        if (grads != null) {
            for (int t = 0; t < tableCount; t++) {
                b.hot.writeGradients(grads[t], t * b.bagStride, b.ids[t].bagCount());
            }
        }
        // The index arrays were staged behind the steps after submit (gather checked it went well).
        tier.applyStaged(b.hot, b.uniqueStart[tableCount], b.occurrenceStart[tableCount], lr, eps);
        mover.applied(b); // demoted rows it updates after their copy stay hot
        inFlight.removeFirst();
        long t1 = System.nanoTime();
        if (b.coldIds > 0) {
            // The updated misses come back in one copy behind the step; the write-back waits for it.
            tier.readReserved(b.hot, b.stageBase, b.packedMisses.get(), b.missAll);
        }
        long t2 = System.nanoTime();
        // The unique ids are counted behind the steps (PopularityCounting), the cold tier's
        // writes go on behind them too (WriteBehind).
        if (counting != null) {
            if (countingOnStepThread) {
                joinStaging(); // counting here shares the step workers
            }
            counting.count(b.dedup);
        }
        if (b.coldIds > 0) {
            writeBehind.start(b);
        }
        long t3 = System.nanoTime();
        phases.apply.add(t1 - t0);
        phases.unstage.add(t2 - t1);
        phases.writeBack.add(t3 - t2);
        for (int t = 0; t < tableCount; t++) {
            b.ids[t].clear();
        }
        b.generation = null;
        if (b.state != StepBatch.WRITING) {
            b.state = StepBatch.OPEN;
        }
    }

    /**
     * Drops a gathered batch without updating its rows (forward-only use, e.g. evaluation): its
     * staged misses leave their slots unchanged (the cold tier still holds them) and its rows are
     * released. Popularity is not counted.
     */
    public void discard(StepBatch b) {
        checkOwn(b, StepBatch.GATHERED, "discard");
        inFlight.removeFirst();
        // Its reserved slots keep the misses unchanged: later batches that count on it copy them.
        for (int t = 0; t < tableCount; t++) {
            b.ids[t].clear();
        }
        b.generation = null;
        b.state = StepBatch.OPEN;
    }

    /**
     * Joins the step workers' run behind the caller, if still running: the index-array staging
     * started by the last submit or announce (before the hot tier's maps change, or before its
     * batch is gathered; a failure is kept for that batch's gather to throw), and the split of the
     * batch announced last, which is then submitted (a failure of its split is thrown here, the
     * batch left open).
     */
    private void joinStaging() {
        StepBatch s = staging;
        StepBatch a = announced;
        if (s == null && a == null) {
            return;
        }
        staging = null;
        announced = null;
        long t0 = System.nanoTime();
        try {
            workers.awaitStarted();
        } catch (RuntimeException | Error e) {
            if (s != null) {
                s.stagingFailure = e;
            }
        } finally {
            phases.stagingJoins.add(System.nanoTime() - t0);
        }
        if (a != null) {
            announceRun.joined();
            a.idSource = null;
            Throwable f = a.announceFailure;
            if (f != null) {
                a.announceFailure = null;
                abandonFetches(a); // the tables split before the failure: nothing may still write into the batch
                a.generation = null;
                a.state = StepBatch.OPEN;
                throw rethrown(f, "announcing a batch failed");
            }
            finishSubmit(a);
            if (stageBehind) {
                toStage = a; // staged by the next announce's run, or by its gather
            }
        }
    }

    /** A failure kept for later, thrown as it was (unchecked), else wrapped saying {@code what} failed. */
    private static RuntimeException rethrown(Throwable f, String what) {
        if (f instanceof RuntimeException e) {
            return e;
        }
        if (f instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(what, f);
    }

    /** As {@link #joinStaging}, for a store or batch being closed: an announced batch's failure is no news there. */
    private void joinStagingQuietly() {
        try {
            joinStaging();
        } catch (RuntimeException | Error ignored) {
            // the batch is open again; nothing was taken in flight
        }
    }

    /**
     * The step workers' run started by an announce: tasks {@code 0..n-1} split the announced
     * batch's tables, tasks {@code n..2n-1} stage the index arrays of the batch announced before
     * it (if any). Failures are kept per batch, not per run, so each is thrown where its batch is
     * next used. Made once: an announce allocates nothing.
     */
    private final class AnnounceRun implements TableWorkers.TableTask {
        private StepBatch split;
        private StepBatch stage;
        private final java.util.concurrent.atomic.AtomicReference<Throwable> splitFailure =
                new java.util.concurrent.atomic.AtomicReference<>();
        private final java.util.concurrent.atomic.AtomicReference<Throwable> stageFailure =
                new java.util.concurrent.atomic.AtomicReference<>();

        void start(StepBatch split, StepBatch stage) {
            this.split = split;
            this.stage = stage;
            workers.start(stage == null ? tableCount : 2 * tableCount, this);
        }

        @Override
        public void run(int task) {
            if (task < tableCount) {
                try {
                    split.dedupAndSplitTask.run(task);
                } catch (Throwable e) {
                    splitFailure.compareAndSet(null, e);
                }
            } else {
                try {
                    stage(stage, task - tableCount);
                } catch (Throwable e) {
                    stageFailure.compareAndSet(null, e);
                }
            }
        }

        /** After the run is joined: hands each batch its failure. */
        void joined() {
            split.announceFailure = splitFailure.getAndSet(null);
            Throwable f = stageFailure.getAndSet(null);
            if (stage != null && f != null) {
                stage.stagingFailure = f;
            }
            split = null;
            stage = null;
        }
    }

    /** Table {@code t}'s index arrays for the batch's gather and apply (on a {@link TableWorkers} thread), timed. */
    void stage(StepBatch b, int t) {
        long t0 = System.nanoTime();
        stageGather(b, t);
        long t1 = System.nanoTime();
        stageApply(b, t);
        long t2 = System.nanoTime();
        phases.stagingTask(t1 - t0, t2 - t1, Thread.currentThread() == stepThread);
    }

    /** Table {@code t}'s part of the batch's one gather (on a {@link TableWorkers} thread): its row-to-slot translation. */
    void stageGather(StepBatch b, int t) {
        tier.stageGatherUnique(handle[t], b.ids[t], b.dedup[t], b.hot, t * b.bagStride, b.bagStride, b.idStart[t],
                b.uniqueStart[t], b.staged[t]);
    }

    /** Table {@code t}'s part of the batch's one apply (on a {@link TableWorkers} thread). */
    void stageApply(StepBatch b, int t) {
        tier.stageApplyKept(handle[t], b.dedup[t], b.hot, t * b.bagStride, b.uniqueStart[t], b.occurrenceStart[t]);
    }

    /** Table {@code t}'s misses read from the cold tier at gather (no prefetch threads). */
    void read(StepBatch b, int t) {
        int f = b.fetchCount[t];
        if (f > 0) {
            cold.get(t).gather(b.miss[t], f, b.missAll, b.missStart[t] * rowBytes);
        }
    }

    /**
     * Rows of one table a part of a write-back puts at most. The parts of all tables are shared by
     * the write threads, so a table holding most of a step's misses (the largest tables do) is
     * written by all of them: before, one thread a table, the largest table's puts were the whole
     * write-back's time (1.05 of 1.07 ms a batch on the H200 host), and the batches queued behind it.
     */
    static final int WRITE_PART_ROWS = 64;
    /** Threads writing the misses back ({@code -Dember.write.threads}, default: the store's hostThreads). */
    static final String WRITE_THREADS_PROPERTY = "ember.write.threads";

    /** Table t's capacity check and pre-images, before any part of it is written. */
    void prepareWriteBack(StepBatch b, int t) {
        int m = b.missCount[t];
        if (m > 0) {
            cold.get(t).preparePut(b.miss[t], m);
        }
    }

    void writeBackPart(StepBatch b, int part) {
        long start = System.nanoTime();
        int t = b.partTable[part];
        int from = b.partFrom[part];
        ColdTable.Writer[] forTable = writers[t];
        int k = from / WRITE_PART_ROWS;
        if (forTable[k] == null) {
            forTable[k] = cold.get(t).newWriter(); // part (t, k) is written by one thread at a time
        }
        forTable[k].put(b.miss[t], from, Math.min(from + WRITE_PART_ROWS, b.missCount[t]), b.missAll, b.missStart[t] * rowBytes);
        b.writeNanos[part] = System.nanoTime() - start;
    }

    /**
     * All tables of an applied batch (the write-behind thread's task): every table prepared
     * (capacity, pre-images: they need the misses' ids, not their bytes) while the device still
     * reads the updated misses back, then, once they are back, the parts written.
     */
    void writeBackAll(StepBatch b) {
        long begun = System.nanoTime();
        long prepared;
        boolean ahead = b.writePrepared;
        try {
            if (ahead) {
                // Prepared in the run of the batch before (its puts beside this one's prepares).
                b.writePrepared = false;
                Throwable f = b.prepareFailure;
                b.prepareFailure = null;
                if (f != null) {
                    throw rethrown(f, "preparing a write-back failed");
                }
            } else {
                writeWorkers.run(tableCount, b.prepareWriteTask);
            }
        } finally {
            prepared = System.nanoTime();
            tier.awaitReserved(b.hot); // the read-back lands before the batch is given up, failed or not
        }
        long readBack = System.nanoTime();
        int parts = 0;
        long rows = 0;
        for (int t = 0; t < tableCount; t++) {
            for (int from = 0; from < b.missCount[t]; from += WRITE_PART_ROWS) {
                b.partTable[parts] = t;
                b.partFrom[parts++] = from;
            }
            rows += b.missCount[t];
        }
        StepBatch next = PREPARE_AHEAD ? b.nextWrite : null;
        b.nextWrite = null;
        writeRun.run(b, parts, next);
        long longest = 0;
        for (int p = 0; p < parts; p++) {
            longest = Math.max(longest, b.writeNanos[p]);
        }
        phases.wroteBehind(begun - b.writeQueuedAt, prepared - begun, readBack - prepared, System.nanoTime() - readBack,
                longest, rows, ahead);
    }

    /**
     * {@code -Dember.write.lowered=false}: the write-behind's threads keep the step's priority
     * rather than the background's ({@link dev.ember.cache.threads.BackgroundPriority}), for
     * comparing runs where the write-behind bounds the steps.
     */
    static final boolean WRITES_LOWERED = !"false".equals(System.getProperty("ember.write.lowered"));

    /**
     * {@code -Dember.write.prepareAhead=false}: each write-back prepares its tables (capacity
     * checks, pre-images) in a run of the write threads of its own, not beside the puts of the
     * batch before it (for comparing runs).
     */
    static final boolean PREPARE_AHEAD = !"false".equals(System.getProperty("ember.write.prepareAhead"));

    /**
     * One run of the write threads for a batch's write-back: its parts' puts and, with the next
     * batch already queued, that batch's tables' prepares, so its capacity checks and pre-images
     * take no run of their own. Safe because a batch's prepare logs the pre-image of every row it
     * writes: the next batch's prepare reads (and logs) only rows this batch does not write, and
     * its capacity check counts this batch's inserts as pending until they land. The prepares
     * come first, the table with the most rows first: a table's prepare runs on one thread, the
     * run's longest task. A prepare's failure is kept for its batch, thrown when that batch's
     * write-back starts, as if prepared then. Made once; the write-behind thread alone uses it.
     */
    private final class WriteRun implements TableWorkers.TableTask {
        private StepBatch current;
        private StepBatch next;
        private int prepares;
        private final int[] largestFirst = new int[tableCount];

        void run(StepBatch b, int parts, StepBatch next) {
            this.current = b;
            this.next = next;
            this.prepares = next == null ? 0 : tableCount;
            if (next != null) {
                orderBySize(next.missCount);
            }
            try {
                writeWorkers.run(prepares + parts, this);
            } finally {
                if (next != null) {
                    next.writePrepared = true;
                }
                this.current = null;
                this.next = null;
            }
        }

        /** Tables by rows to write, most first (insertion sort: a few dozen tables). */
        private void orderBySize(int[] rows) {
            int[] o = largestFirst;
            for (int i = 0; i < o.length; i++) {
                int t = i;
                int j = i;
                while (j > 0 && rows[o[j - 1]] < rows[t]) {
                    o[j] = o[j - 1];
                    j--;
                }
                o[j] = t;
            }
        }

        @Override
        public void run(int task) {
            if (task >= prepares) {
                writeBackPart(current, task - prepares);
                return;
            }
            StepBatch n = next;
            try {
                prepareWriteBack(n, largestFirst[task]);
            } catch (Throwable e) {
                synchronized (this) {
                    if (n.prepareFailure == null) {
                        n.prepareFailure = e;
                    }
                }
            }
        }
    }

    /** Made in the constructor, once the table count is known. */
    private final WriteRun writeRun;

    /**
     * Puts the batch's misses into its reserved slots: the rows read from the cold tier in one
     * copy, then those an earlier batch forwards copied on the device from that batch's slots.
     */
    private void stageMisses(StepBatch b) {
        int forwards = 0;
        int fetched = 0;
        for (int t = 0; t < tableCount; t++) {
            int m = b.missCount[t];
            fetched += b.fetchCount[t];
            if (m > 0) {
                b.fetches[t] = null;
                counters[t].rowsFetched.add(m);
                long to = b.slotOfMiss(t, 0);
                long[] from = b.forwardFrom[t];
                for (int k = b.fetchCount[t]; k < m; k++) {
                    b.copyFrom[forwards] = from[k - b.fetchCount[t]];
                    b.copyTo[forwards++] = to + k;
                }
            }
        }
        if (fetched > 0) {
            // Every table's misses, packed: the forwarded ones' places get their rows from the copies after.
            tier.writeReserved(b.hot, b.stageBase, b.packedMisses.get(), b.missAll);
        }
        tier.copyReserved(b.hot, b.copyFrom, b.copyTo, forwards);
    }

    private void awaitFetches(StepBatch b) {
        for (int t = 0; t < tableCount; t++) {
            if (b.fetches[t] != null) {
                await(b.fetches[t]);
            }
        }
    }

    private static void await(Future<?> f) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a prefetch of cold rows", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("prefetching cold rows failed: " + e.getCause().getMessage(), e.getCause());
        }
    }

    private void checkOwn(StepBatch b, int state, String what) {
        if (closed) {
            throw new IllegalStateException("tiered store is closed");
        }
        if (b.owner != this) {
            throw new IllegalArgumentException("batch was made by another tiered store (use newBatch of this one)");
        }
        if (b.state != state && !(state == StepBatch.OPEN && b.state == StepBatch.WRITING)) {
            String[] names = {"open", "submitted", "gathered", "writing back", "announced"};
            throw new IllegalStateException(what + " needs a " + names[state] + " batch; this one is " + names[b.state]
                    + " (order: submit, gather, apply)");
        }
    }

    // ------------------------------------------------------------------ step boundaries, re-tiering

    /** A step boundary ({@code step} steps done): the knob may retarget; rows move in bounded chunks. */
    public void endStep(long step) {
        endStep(step, true);
    }

    /**
     * As {@link #endStep(long)}; with {@code move} false no row moves at this boundary (FAE keeps a
     * window's classification valid until the window is trained).
     */
    public void endStep(long step, boolean move) {
        joinStaging(); // the hot tier's maps may change here
        long cpu0 = THREAD_CPU.getCurrentThreadCpuTime();
        long delay0 = runDelayNanos();
        boolean events = readThreadEvents(events0);
        long t0 = System.nanoTime();
        boundaryStart = t0;
        if (watch != null) {
            watch.begin(t0);
        }
        long reread0 = mover.rowsReread();
        long rereadNanos0 = mover.rereadNanos();
        long waited0 = mover.waitNanos();
        long deferrals0 = mover.deferrals();
        long calls0 = mover.tierCalls();
        long rows0 = mover.tierRows();
        long tierNanos0 = mover.tierNanos();
        long plan0 = mover.planNanos();
        long group0 = mover.groupNanos();
        long publishing0 = phases.movePublishing.sum();
        long published = 0;
        writeBehind.reap(); // rows whose write-back is done may move again
        long t1 = System.nanoTime();
        long tRetarget = 0;
        long waited1 = waited0;
        if (knob != null) {
            counting.advanceTo(step);
            // An evaluation reads the counts of this step: frozen by the counting thread once it has them.
            KnobChoice choice = knob.onStep(step, drainCounting, countedThrough);
            if (choice != null && deferredChoice != null) {
                adoptDeferredChoice(true); // a second choice before the first was taken (not seen: choices come a period apart)
            }
            if (choice == null && deferredChoice != null && (waitAtBoundary || mover.coldWorkDone())) {
                choice = deferredChoice;
                deferredChoice = null;
            } else if (choice != null && !waitAtBoundary && !mover.coldWorkDone()) {
                // A retarget publishes the chunk in transit first: rather than wait here for its
                // cold-tier work, the choice waits for a boundary that finds that work done.
                deferredChoice = choice;
                choice = null;
            }
            if (choice == null && deferredChoice != null) {
                phases.deferredRetargets.increment();
            }
            if (choice != null) {
                tRetarget = System.nanoTime();
                lastChoice = choice;
                publishBeforeRetarget(true); // its cold-tier work is done unless waitAtBoundary, which waits
                published = System.nanoTime() - tRetarget;
                choice.retarget(hotSets); // differences prepared on the knob's thread
                retargeted(choice.hotSet());
            }
            waited1 = mover.waitNanos();
        }
        long t2 = System.nanoTime();
        if (move) {
            moveChunks(1, stepMoves, waitAtBoundary, true);
        }
        long t3 = System.nanoTime();
        long waited2 = mover.waitNanos();
        long retargetNanos = tRetarget == 0 ? 0 : (t2 - tRetarget) - (waited1 - waited0);
        phases.boundary(t3 - t0, waited2 - waited0, (t3 - t2) - (waited2 - waited1),
                (tRetarget == 0 ? t2 : tRetarget) - t1, retargetNanos, mover.deferrals() > deferrals0,
                mover.tierCalls() - calls0, mover.tierRows() - rows0, mover.tierNanos() - tierNanos0,
                tRetarget == 0 ? 0 : published - (waited1 - waited0), THREAD_CPU.getCurrentThreadCpuTime() - cpu0,
                phases.movePublishing.sum() - publishing0, mover.planNanos() - plan0, mover.groupNanos() - group0);
        if (watch != null) {
            watch.end();
        }
        long reread = mover.rowsReread() - reread0;
        if (reread > 0) {
            phases.boundaryRereads.add(reread);
        }
        if (t3 - t0 > StepPhases.SLOW_NANOS) {
            boolean eventsRead = events && readThreadEvents(events1);
            phases.slowBoundaryDetail(reread, mover.rereadNanos() - rereadNanos0,
                    delay0 < 0 ? -1 : runDelayNanos() - delay0, eventsRead ? events0 : null, events1);
        }
    }

    /** The step thread's run delay so far, or -1 when not read ({@link #RUN_DELAY_PROPERTY}) or not counted. */
    private long runDelayNanos() {
        if (!readRunDelay) {
            return -1;
        }
        if (runDelay == null || !runDelay.ownedByCurrentThread()) {
            if (runDelay != null) {
                runDelay.close();
            }
            runDelay = RunDelay.open();
            if (runDelay == null) {
                return -1;
            }
        }
        return runDelay.nanos();
    }

    /** The step thread's faults and switches so far into {@code into}; false when not read ({@link #RUN_DELAY_PROPERTY}) or not shown. */
    private boolean readThreadEvents(long[] into) {
        if (!readRunDelay) {
            return false;
        }
        if (threadEvents == null || !threadEvents.ownedByCurrentThread()) {
            if (threadEvents != null) {
                threadEvents.close();
            }
            threadEvents = ThreadEvents.open();
            if (threadEvents == null) {
                return false;
            }
        }
        return threadEvents.read(into);
    }

    /**
     * A knob's choice handed out at a step boundary that found the chunk in transit's cold-tier
     * work still running, so not yet adopted: a later boundary that finds it done adopts it (as
     * do checkpoints; a retarget by hand replaces it). Null when none waits.
     */
    private KnobChoice deferredChoice;

    /**
     * Adopts the knob's choice put off at a boundary, if any, waiting for the chunk in transit;
     * {@code atBoundary}: at a step boundary.
     */
    private void adoptDeferredChoice(boolean atBoundary) {
        KnobChoice c = deferredChoice;
        if (c == null) {
            return;
        }
        deferredChoice = null;
        lastChoice = c;
        publishBeforeRetarget(atBoundary);
        c.retarget(hotSets);
        retargeted(c.hotSet());
    }

    /**
     * Publishes the chunk in transit before a retarget, waiting for its cold-tier work. At a step
     * boundary ({@code atBoundary}) a promoted row written since its read is left for a later chunk
     * rather than read again from the cold tier, unless every boundary waits ({@code waitAtBoundary}:
     * then which rows move depends only on the calls, so it reads them as publishing elsewhere does).
     */
    private void publishBeforeRetarget(boolean atBoundary) {
        if (atBoundary && !waitAtBoundary) {
            mover.publishAtBoundary();
        } else {
            mover.publish();
        }
    }

    /** Nanoseconds after a step boundary's start at which its move planning stops (0: never). */
    private long planNanos;
    /** When the step boundary under way started ({@link System#nanoTime}). */
    private long boundaryStart;

    /**
     * Step boundaries stop planning moves {@code micros} after they start (0, the default: they
     * plan a whole chunk): what a plan did not reach waits for the next boundary. Bounds a
     * boundary's time where checking rows in use is slow (right after a retarget, or on a busy
     * host), at the cost of moves spread over more boundaries. Which boundary a row moves at then
     * depends on timing (it already does on the cold tier's), never a value.
     */
    public void stopPlanningAfter(long micros) {
        if (micros < 0) {
            throw new IllegalArgumentException("planning time must be >= 0 microseconds, got " + micros);
        }
        this.planNanos = micros * 1000;
    }

    /** Makes {@code target}'s rows the target hot set; rows move at the next step boundaries. */
    public void retarget(HotSet target) {
        if (config.resident()) {
            throw new IllegalStateException("resident (device) mode keeps every row hot: there is nothing to re-tier");
        }
        joinStaging();
        deferredChoice = null; // replaced by this target
        mover.publish();
        hotSets.retarget(target);
        retargeted(target);
    }

    private void retargeted(HotSet target) {
        HotSet current = hotSets.current();
        fit(Math.max(current.totalHotRows(), target.totalHotRows()));
        lastPromoted = 0;
        lastDemoted = 0;
        retierNanos = 0;
        stallNanos = 0;
    }

    /**
     * Chooses hot rows from the popularity counters now (as the knob would, with the current
     * budget and the knob's objective) and moves them all before returning: how a run starts
     * from a profile.
     */
    public KnobChoice chooseAndSettle() {
        if (config.resident()) {
            throw new IllegalStateException("resident (device) mode keeps every row hot");
        }
        counting.drain();
        // The counting workers rank the tables when nothing else uses them: counts live (no
        // replay behind) and no evaluation of the knob's running.
        boolean workersIdle = !popularity.frozen() && (knob == null || !knob.pending());
        KnobChoice c = new HotRowChooser(config.hysteresis()).choose(popularity, hotSets.current(),
                budget.resolve(specs), config.mode(),
                workersIdle ? popularity.tableRunner() : dev.ember.cache.popularity.DecayingCounters.TableRunner.HERE);
        lastChoice = c;
        retarget(c.hotSet());
        settle();
        return c;
    }

    /** Moves rows until the current hot set is the target, ignoring the per-step bound. */
    public void settle() {
        joinStaging();
        writeBehind.finishAll();
        mover.publish();
        while (!hotSets.settled()) {
            if (moveChunks(Integer.MAX_VALUE, settleMoves, true, false) == 0) {
                throw new IllegalStateException("re-tiering cannot finish: " + (hotSets.pendingPromotions()
                        + hotSets.pendingDemotions()) + " moves wait for rows used by " + inFlight.size()
                        + " in-flight batches (apply them first)");
            }
        }
        fitAfterSettle();
    }

    /**
     * Publishes the promotions in transit, then starts up to {@code chunks} chunks of at most
     * {@code moves} moves (each but the
     * last published before the next starts); returns the rows moved. At a step boundary one
     * chunk: planned now, published at the next boundary ({@link Mover}). Unless {@code wait},
     * a chunk in transit whose cold-tier work is not done stays in transit (published at a later
     * boundary) and nothing starts. {@code boundary}: a step boundary's, timed in the phases.
     */
    private int moveChunks(int chunks, int moves, boolean wait, boolean boundary) {
        long start = System.nanoTime();
        long before = mover.promoted() + mover.demoted();
        long promotedBefore = mover.promoted();
        long demotedBefore = mover.demoted();
        if (wait) {
            mover.publish();
        } else if (!mover.publishIfDone()) {
            return 0; // its cold-tier work is still running: a later boundary publishes it
        }
        long planned = System.nanoTime();
        if (boundary) {
            phases.movePublishing.add(planned - start);
        }
        for (int c = 0; c < chunks && mover.start(moves, wait, boundary, boundary && planNanos > 0 ? boundaryStart + planNanos : 0); c++) {
            if (c + 1 < chunks) {
                mover.publish();
            }
        }
        if (boundary) {
            phases.moveStarting.add(System.nanoTime() - planned);
        }
        int moved = (int) (mover.promoted() + mover.demoted() - before);
        lastPromoted += mover.promoted() - promotedBefore;
        lastDemoted += mover.demoted() - demotedBefore;
        if (moved > 0) {
            long took = System.nanoTime() - start;
            retierNanos += took;
            stallNanos = Math.max(stallNanos, took);
            if (hotSets.settled()) {
                fitAfterSettle();
            }
        }
        return moved;
    }

    /** Promoted rows read again from the cold tier when published (a batch's write landed after the move's read). */
    public long rowsRereadForPromotion() {
        return mover.rowsReread();
    }

    /**
     * The step thread's state and stack in step boundaries that ran past 1 ms, one a line (the
     * first 16), with {@code -Dember.boundary.watch=true}; null without it.
     */
    public String slowBoundaryStacks() {
        return watch == null ? null : watch.samples();
    }

    /**
     * Promotions a step boundary left for a later chunk because a batch's write-back of the row
     * landed after the chunk read it: publishing at a boundary reads nothing from the cold tier
     * ({@link #rowsRereadForPromotion} counts those read again where publishing waits anyway).
     */
    public long promotionsPutOffForRereads() {
        return mover.rereadsPutOff();
    }

    /** Step boundaries that started no chunk because the device was still copying the chunks before. */
    public long chunksPutOffForTheDevice() {
        return mover.deviceBehind();
    }

    /** Planned moves dropped at publishing (rows in use, demoted rows updated since their copy, promoted rows not back from the device, no room). */
    public long movesDropped() {
        return mover.promotionsDropped();
    }

    /**
     * Re-tiering behind the steps, in one line: step-thread time spent waiting for it (a chunk's
     * cold-tier reads and writes not done when the chunk is due, the knob's counters taken back
     * from its replay, a knob choice not made when due), the knob's thread's replays up to its
     * freezes, demoted rows
     * written behind, promoted rows re-read and moves dropped when published.
     */
    public String moveWaits() {
        return String.format("moves waited %.3f ms for their cold-tier reads and writes; counters waited %.3f ms to"
                        + " catch up (the knob's thread replayed up to its freezes for %.3f ms); the knob's evaluations"
                        + " took %.1f ms in all on its thread, the longest %.1f ms; its choices waited"
                        + " for %.3f ms; %d demoted rows written behind, %d promoted"
                        + " rows re-read (%d left for a later chunk at a boundary), %d planned moves dropped, %d passed over at planning (rows in use), %d plans stopped at the boundary's planning time, %d chunks put off for the device's"
                        + " copies; %d hot-tier resizes took %.3f ms, %d retargets"
                        + " adopted a stale preparation, %d preparations rebased before due; %s; %s", mover.waitNanos() / 1e6,
                popularity == null ? 0.0 : popularity.caughtUpWaitNanos() / 1e6,
                popularity == null ? 0.0 : popularity.replayToFreezeNanos() / 1e6,
                knob == null ? 0.0 : knob.evaluationNanos() / 1e6, knob == null ? 0.0 : knob.longestEvaluationNanos() / 1e6,
                knob == null ? 0.0 : knob.waitedNanos() / 1e6, mover.rowsWritten(), mover.rowsReread(), mover.rereadsPutOff(),
                mover.promotionsDropped(), hotSets.deferredMoves(), hotSets.lateStops(), mover.deviceBehind(), resizes, resizeNanos / 1e6, hotSets.slowRetargets(), hotSets.rebases(),
                counting == null ? "no popularity counted (resident)" : counting.describe(), backgroundPriority());
    }

    private static String backgroundPriority() {
        String problem = dev.ember.cache.threads.BackgroundPriority.problem();
        return problem != null ? "background threads keep their priority: " + problem
                : dev.ember.cache.threads.BackgroundPriority.lowered() + " background threads at nice "
                        + dev.ember.cache.threads.BackgroundPriority.nice()
                        + (dev.ember.cache.threads.BackgroundPriority.batchPolicy() ? " in SCHED_BATCH" : "");
    }

    private void promoteAll(int t, RoaringBitmap rows) {
        PeekableIntIterator it = rows.getIntIterator();
        while (it.hasNext()) {
            int n = 0;
            while (n < IO_ROWS && it.hasNext()) {
                ioRows[n++] = it.next();
            }
            cold.get(t).gather(ioRows, n, ioBuf);
            tier.promote(handle[t], ioRows, n, ioBuf);
        }
    }

    /** Copies every row of table {@code t} from the cold tier over its resident slots. */
    private void loadResident(int t) {
        long rows = specs.get(t).rows();
        for (long r = 0; r < rows; ) {
            int n = 0;
            while (n < IO_ROWS && r < rows) {
                ioRows[n++] = r++;
            }
            cold.get(t).gather(ioRows, n, ioBuf);
            tier.write(handle[t], ioRows, n, ioBuf);
        }
    }

    private long budgetRows() {
        return budget.resolve(specs) / rowBytes;
    }

    /** Makes the hot tier hold at least {@code hotRows} rows plus the staging slots. */
    private void fit(long hotRows) {
        long slots = hotRows + stagingSlots;
        if (tier.capacity() < slots) {
            resizeTo(slots);
        }
    }

    /** Once settled, gives back slots beyond the budget and the rows held. */
    private void fitAfterSettle() {
        long slots = Math.max(budgetRows(), hotSets.current().totalHotRows()) + stagingSlots;
        if (tier.capacity() > slots && inFlight.isEmpty()) {
            resizeTo(slots);
        }
    }

    private void resizeTo(long slots) {
        long start = System.nanoTime();
        try {
            resizeTier(slots);
        } finally {
            resizes++;
            resizeNanos += System.nanoTime() - start;
        }
    }

    private void resizeTier(long slots) {
        long bytes = Math.max(1, slots) * tier.bytesPerSlot();
        tier.resize(bytes);
        if (tier.capacity() < slots) {
            tier.resize(bytes + tier.bytesPerSlot());
        }
        if (tier.capacity() < slots) {
            throw new IllegalStateException("hot tier holds " + tier.capacity() + " slots for " + bytes + " bytes; "
                    + slots + " are needed");
        }
    }

    // ------------------------------------------------------------------ budget, reads, counters

    /** The budget used from the knob's next evaluation on (safe from any thread). */
    public void setBudget(Budget b) {
        this.budget = java.util.Objects.requireNonNull(b, "budget");
        if (knob != null) {
            knob.setBudget(b);
        }
    }

    public Budget budget() {
        return budget;
    }

    public long budgetBytes() {
        return budget.resolve(specs);
    }

    public HotSet hotSet() {
        return hotSets.current();
    }

    public HotSets hotSets() {
        return hotSets;
    }

    /**
     * The online popularity counters (null in resident mode); fill them from a profile before
     * {@link #chooseAndSettle}. Step thread: waits until every applied batch is counted (they are
     * counted behind the steps), so the counters are the caller's to read or record into until the
     * next batch is applied or step ends.
     */
    public DecayingCounters popularity() {
        if (counting != null) {
            counting.drain();
        }
        return popularity;
    }

    public KnobChoice lastChoice() {
        return lastChoice;
    }

    /**
     * The knob's schedule (null when it never runs). Step thread: waits until every applied batch
     * is counted, as {@link #popularity()} does (a schedule's checkpoint form reads the counters).
     */
    public KnobSchedule knob() {
        if (counting != null) {
            counting.drain();
        }
        return knob;
    }

    /** The knob's evaluations so far, from any thread (the Knob MXBean). */
    long knobEvaluations() {
        return knob == null ? 0 : knob.evaluations();
    }

    public TableCounters counters(int table) {
        return counters[table];
    }

    public List<TableSpec> tables() {
        return specs;
    }

    public HotTier tier() {
        return tier;
    }

    public Store store() {
        return store;
    }

    public TieredConfig config() {
        return config;
    }

    long lastPromoted() {
        return lastPromoted;
    }

    long lastDemoted() {
        return lastDemoted;
    }

    double retierMillis() {
        return retierNanos / 1e6;
    }

    double stallMillis() {
        return stallNanos / 1e6;
    }

    /** Rows read from the cold tier for batches, all tables. */
    public long rowsFetched() {
        long n = 0;
        for (TableCounters c : counters) {
            n += c.rowsFetched();
        }
        return n;
    }

    /**
     * Reads the current value of rows {@code ids[0..count)} of {@code table} from their owners
     * into {@code out} (row {@code i} at {@code i*bytesPerRow}). Not while a batch is gathered.
     */
    public void read(int table, long[] ids, int count, ByteBuffer out) {
        joinStaging();
        writeBehind.finishAll();
        HotSet h = hotSets.current();
        long[][] split = {new long[count], new long[count]};
        int[][] pos = {new int[count], new int[count]};
        int[] n = new int[2];
        for (int i = 0; i < count; i++) {
            int side = h.contains(table, ids[i]) ? 0 : 1;
            split[side][n[side]] = ids[i];
            pos[side][n[side]++] = i;
        }
        ByteBuffer rows = direct((long) Math.max(1, count) * rowBytes);
        for (int side = 0; side < 2; side++) {
            if (n[side] == 0) {
                continue;
            }
            if (side == 0) {
                tier.read(handle[table], split[0], n[0], rows, null);
            } else {
                cold.get(table).gather(split[1], n[1], rows);
            }
            for (int k = 0; k < n[side]; k++) {
                out.put(pos[side][k] * rowBytes, rows, k * rowBytes, rowBytes);
            }
        }
    }

    // ------------------------------------------------------------------ checkpoint

    /**
     * Checkpoints the store with the caller's blobs and the tiering state, the dirty hot rows
     * dumped sequentially beside it ({@link DirtyRowDump}). Batches may be submitted (their rows
     * stay pinned) but none gathered.
     */
    public Manifest checkpoint(long step, long[] rngState, Map<String, byte[]> blobs) {
        return checkpoint(step, rngState, blobs, false);
    }

    /**
     * As {@link #checkpoint}, after the hot tier's device failed at a step boundary but still
     * answers reads: saves its dirty rows so that nothing trained since the last checkpoint is
     * lost. Rows of the hot set that the tier no longer holds are skipped: a move that failed
     * after demoting them had already written them back to the cold tier (the hot set is
     * published only when a move finishes). Every other read error propagates, and the store's
     * last checkpoint then stands.
     */
    public Manifest checkpointAfterDeviceFault(long step, long[] rngState, Map<String, byte[]> blobs) {
        return checkpoint(step, rngState, blobs, true);
    }

    private Manifest checkpoint(long step, long[] rngState, Map<String, byte[]> blobs, boolean heldOnly) {
        joinStaging();
        for (StepBatch b : inFlight) {
            if (b.state == StepBatch.GATHERED) {
                throw new IllegalStateException("checkpoint between gather and apply: apply the batch first");
            }
        }
        // The hot sets are saved with no chunk in transit, and its demoted rows' writes land first.
        if (heldOnly) {
            mover.abandon(); // the device failed: nothing more moves (the chunk's moves stay pending)
        } else {
            adoptDeferredChoice(false); // the knob's state saved below counts it as adopted
            mover.publish();
        }
        writeBehind.finishAll();
        Map<String, byte[]> all = new HashMap<>(blobs);
        Map<String, Blobs.Fields> sides = Map.of();
        if (!config.resident()) {
            counting.drain(); // the counters go into the checkpoint as of this step
            if (knob != null) {
                all.put(KNOB_BLOB, knob.toBytes()); // before the counters: it thaws them
            }
            sides = Map.of(COUNTERS_SIDE, popularity::writeTo); // streamed from off-heap into a file of their own
            all.put(HOT_SETS_BLOB, hotSets.toBytes());
            all.put(STATS_BLOB, statsBytes());
        }
        return store.checkpoint(step, rngState, all, dump.scanning(hotSets.current(), heldOnly), sides);
    }

    /** Rows the last {@link #checkpoint} dumped (dirty hot rows). */
    public long lastDumpRows() {
        return dump.lastRows();
    }

    private byte[] statsBytes() {
        return Blobs.of(out -> {
            out.writeInt(STATS_MAGIC);
            out.writeInt(tableCount);
            for (TableCounters c : counters) {
                out.writeLong(c.hotHits());
                out.writeLong(c.coldMisses());
                out.writeLong(c.rowsFetched());
            }
        });
    }

    private void readStats(byte[] blob) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(blob));
            if (in.readInt() != STATS_MAGIC || in.readInt() != tableCount) {
                throw new IllegalArgumentException("tiered stats blob does not match the store's " + tableCount + " tables");
            }
            for (TableCounters c : counters) {
                c.restore(in.readLong(), in.readLong(), in.readLong());
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated tiered stats blob", e);
        }
    }

    private static ByteBuffer direct(long bytes) {
        return ByteBuffer.allocateDirect((int) Math.max(64, bytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Stops prefetching and removes the MXBeans. Updates since the last {@link #checkpoint} that
     * live only in the hot tier are not written back (the store rolls back to its checkpoint).
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            try {
                joinStagingQuietly(); // the workers write into a batch's buffers
                mover.close(); // its read is done before the tables close
            } finally {
                writeBehind.close();
            }
        } finally {
            if (counting != null) {
                counting.close(); // counts what was handed over, then stops
            }
            writeWorkers.close();
            for (ColdTable.Writer[] forTable : writers) {
                for (ColdTable.Writer w : forTable) {
                    if (w != null) {
                        w.release();
                    }
                }
            }
            workers.close();
            if (prefetcher != null) {
                prefetcher.shutdownNow();
            }
            if (knob != null) {
                knob.close();
            }
            if (runDelay != null) {
                runDelay.close();
            }
            if (threadEvents != null) {
                threadEvents.close();
            }
            if (watch != null) {
                watch.close();
            }
            if (mbeans != null) {
                mbeans.close();
                for (TableSpec s : specs) {
                    store.attachTierStats(s.name(), null);
                }
            }
        }
    }
}
