package dev.ember.cache.popularity;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.durability.Blobs;
import dev.ember.cache.table.TableSpec;
import java.io.ByteArrayInputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;
import org.roaringbitmap.PeekableIntIterator;
import org.roaringbitmap.RoaringBitmap;

/**
 * Exact exponentially decaying access counts per (table, row): at step {@code t} a row's count
 * is {@code sum over its accesses at steps s of decay^(t - s)} ({@code decay = 1}: plain counts).
 *
 * <p><b>Forward decay.</b> Decaying every counter every step would touch every row. Instead an
 * access at step {@code s} adds {@code g^(s - base)} with {@code g = 1/decay}, and a count is
 * read as {@code stored * decay^(t - base)}. When the weight grows past 2^256 the touched rows
 * are rescaled once and {@code base} moves to the present (touched rows only: a Roaring bitmap
 * per table lists them; rows that have decayed below 1e-12 of one access are dropped then).
 * So recording is one multiply-free add, and the only allocation is a Roaring container on a
 * row's first touch.
 *
 * <p><b>Freezing.</b> The knob reads the counts on a background thread. {@link #freeze()} makes
 * the counts stand still: while frozen, steps and accesses are appended to an off-heap log
 * ({@link AccessLog}), one log per group of tables, and replayed later in order, so the counts
 * end bit for bit as if never frozen. Who replays: the knob's thread once its evaluation is done
 * ({@link #replayBehind}), each stretch spread over the groups on the threads {@link #replayOn}
 * names (a group reads only its own log and applies its tables' entries, each table with its
 * own copy of the clock),
 * behind the steps while the step thread keeps logging; the step thread takes the counts back
 * (live again) at the first record or step that finds the backlog short, replaying that short
 * rest itself (see handing back, below). {@link #thaw()} replays on the calling thread (taking
 * the log back from the knob's thread): for checkpoints and for an evaluation on the step thread.
 *
 * <pre>
 *  per table t:  stored: off-heap double[rows_t]   (0 = never touched since the last drop)
 *                touched: RoaringBitmap of rows with stored != 0, but for
 *                fresh:   int[] of rows first touched since the last merge (unsorted); merged
 *                         in bulk when full or before touched is read (a Roaring insertion per
 *                         first touch cost more than all the counting)
 *  logs (frozen): one per group g of tables (t mod G = g, G = min(tables, REPLAY_GROUPS)):
 *                | long | long | ...  access: (table << 32) | row;  step: MIN_VALUE | step, in every log;
 *                                     count: 2^62 | c, the next access (same log) counts c times
 *  a table's replay keeps its own step, base and weight while its group's log is behind; the
 *  store's are set from them where every log was replayed to one point (a freeze, or the end)
 *  phase:        | epoch (62 bits) | LIVE / FROZEN / CATCHING_UP / HANDING_BACK (2 bits) |
 *                LIVE -freeze-> FROZEN -replayBehind-> CATCHING_UP -backlog small-> HANDING_BACK -rest replayed-> LIVE
 *                FROZEN or CATCHING_UP -catchUp or thaw-> HANDING_BACK
 * </pre>
 * <b>Handing back.</b> The knob's thread replays in stretches of at least {@link #MIN_ROUND}
 * entries (a shorter one costs more in waking the table threads than it replays), and the step
 * thread, once the backlog is at most {@link #HAND_BACK} entries at a record or step (or at once
 * in {@link #catchUp}), takes the counts back: it waits for the stretch being replayed and
 * replays the rest itself. A replayer that had to be caught up with exactly never was: on a fast
 * card the step thread logs without pause, so by the time a stretch is replayed the next is there.
 * Only the step thread makes the counts LIVE (or FROZEN), and only when the log is replayed to
 * its end, so which thread applies an entry never changes the order entries are applied in. The
 * epoch (one per freeze) keeps a late {@link #replayBehind} of an earlier freeze from replaying
 * during a later evaluation.
 *
 * <p>"The step thread" here is whichever one thread records, moves the clock, freezes and thaws
 * at a time: a tiered store records, moves the clock and freezes for the knob's evaluations on a
 * counting thread of its own, behind the steps, and hands the counters to its step thread
 * (checkpoints, thaws, readers) only once that thread has counted every batch before
 * ({@code dev.ember.cache.tiered.PopularityCounting}).
 * Memory: 8 bytes per row of every table (Criteo Kaggle, 33.8M rows: 270 MB), off-heap.
 */
public final class DecayingCounters implements RowScores {
    private static final int BLOB_MAGIC = 0x45444331; // "EDC1"
    private static final double RENORM_LOG2 = 256;
    private static final double DROP_BELOW = 1e-12;
    private static final long STEP_MARK = Long.MIN_VALUE;
    /** First-touched rows a table buffers before they go into its bitmap at once. */
    private static final int FRESH_ROWS = 1 << 14;
    /** A log entry {@code COUNT_MARK | c}: the next access counts {@code c} times (table numbers stay below 2^30). */
    private static final long COUNT_MARK = 1L << 62;
    private static final long LIVE = 0;
    private static final long FROZEN = 1;
    private static final long CATCHING_UP = 2;
    private static final long HANDING_BACK = 3;
    /** The least the knob's thread replays at once (entries). */
    static final int MIN_ROUND = 1 << 14;
    /** Groups of tables with a log each, replayed one task a group (the counting threads of a tiered store: 8). */
    static final int REPLAY_GROUPS = 8;
    /** The backlog (entries) the step thread replays itself to take the counts back (>= MIN_ROUND). */
    static final int HAND_BACK = 1 << 16;
    /**
     * The most entries a {@link #freezeBehind} leaves behind a replay (32M entries, 256 MB of
     * log); past it the freeze takes the counts back first, so a replay slower than the steps
     * costs waits, never unbounded memory.
     */
    static final long MAX_BEHIND = 1L << 25;
    private static final long PHASE_MASK = 3;
    /** How long the knob's replayer sleeps when less than a stretch ({@link #MIN_ROUND}) is waiting. */
    private static final long REPLAYER_IDLE_NANOS = 20_000;

    private final List<TableSpec> tables;
    private final double decay;
    private final double log2Growth;
    private final OffHeapDoubles[] stored;
    private final RoaringBitmap[] touched;
    private final int[][] fresh;
    private final int[] freshCount;
    private final double[] totals;
    private long base;
    private long step;
    /** The step thread's clock (the replay moves {@code step} behind it while frozen). */
    private long clock;
    private double weight = 1.0;
    private final AtomicLong phase = new AtomicLong(LIVE);
    /**
     * Each group's log (group {@code t % logs.length} for table t). One log for all tables made
     * every group read every entry: 8 reads an entry, and a replay that barely kept up with the
     * steps, so most counting went through the log (a JFR profile of cache on the H200).
     */
    private final AccessLog[] logs;
    /** Each table's replay of its log (one replayer at a time, the groups spread over threads). */
    private final TableReplay[] replays;
    /** The tables' replays in groups, one task each: every group reads its own log. */
    private final GroupReplay[] groups;
    private final IntConsumer replayGroup = this::replayGroup;
    private volatile TableRunner replayRunner = TableRunner.HERE;
    private final LongAdder recorded = new LongAdder();
    private final LongAdder replayedBehind = new LongAdder();
    private final LongAdder caughtUpWaitNanos = new LongAdder();
    /** Each log's entries before a {@link #freezeBehind}, which the counts stand at (published by the phase's write). */
    private final long[] frozenAt;
    /** Each log's end: the appender's (catching up), the replayer's behind the steps. */
    private final long[] appendedEnds;
    private final long[] publishedEnds;
    private final LongAdder replayToFreezeNanos = new LongAdder();
    /** {@link #replayBehind}s running (whoever takes the log back waits for them to leave: one replayer at a time). */
    private final java.util.concurrent.atomic.AtomicInteger replaying = new java.util.concurrent.atomic.AtomicInteger();

    /** Counters for {@code tables}; {@code decay} in (0, 1] is the factor applied per step. */
    public DecayingCounters(List<TableSpec> tables, double decay) {
        if (!(decay > 0 && decay <= 1)) {
            throw new IllegalArgumentException("decay per step must be in (0, 1], got " + decay);
        }
        this.tables = List.copyOf(tables);
        this.decay = decay;
        this.log2Growth = -StrictMath.log(decay) / StrictMath.log(2);
        int n = this.tables.size();
        stored = new OffHeapDoubles[n];
        touched = new RoaringBitmap[n];
        fresh = new int[n][];
        freshCount = new int[n];
        totals = new double[n];
        replays = new TableReplay[n];
        for (int t = 0; t < n; t++) {
            replays[t] = new TableReplay(t);
            long rows = this.tables.get(t).rows();
            if (rows > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("table " + this.tables.get(t).name() + " has " + rows
                        + " rows; counters hold at most " + Integer.MAX_VALUE + " rows per table: split it");
            }
            stored[t] = new OffHeapDoubles(rows);
            touched[t] = new RoaringBitmap();
            fresh[t] = new int[(int) Math.min(rows, FRESH_ROWS)];
        }
        int g = Math.max(1, Math.min(n, REPLAY_GROUPS));
        groups = new GroupReplay[g];
        logs = new AccessLog[g];
        frozenAt = new long[g];
        appendedEnds = new long[g];
        publishedEnds = new long[g];
        for (int k = 0; k < g; k++) {
            groups[k] = new GroupReplay(k, g);
            logs[k] = new AccessLog();
        }
    }

    /** The decay for a half-life of {@code steps} steps: {@code 0.5^(1/steps)}. */
    public static double decayForHalfLife(double steps) {
        if (!(steps > 0)) {
            throw new IllegalArgumentException("half-life must be > 0 steps, got " + steps);
        }
        return StrictMath.pow(0.5, 1.0 / steps);
    }

    public double decay() {
        return decay;
    }

    public long step() {
        return step;
    }

    /**
     * Whether accesses go to the log (frozen, or being replayed behind the steps by the knob's
     * thread) rather than straight into the counts. Step thread.
     */
    public boolean frozen() {
        return (phase.get() & PHASE_MASK) != LIVE;
    }

    /** The step accesses count at now: the last {@link #advanceTo} (replays may still be behind it). */
    public long clock() {
        return clock;
    }

    /** Moves the clock to {@code step} (never backwards); later accesses count as at that step. */
    public void advanceTo(long newStep) {
        if (newStep < clock) {
            throw new IllegalArgumentException("step " + newStep + " is before the counters' step " + clock);
        }
        clock = newStep;
        if (logging()) {
            for (AccessLog log : logs) {
                log.append(STEP_MARK | newStep);
                log.publish();
            }
            return;
        }
        applyStep(newStep);
    }

    /**
     * Counts one access of {@code row} of {@code table} at the current step. The row must lie in
     * the table (the store checks a batch's ids once, before it is served).
     */
    public void record(int table, long row) {
        recorded.increment();
        recordUncounted(table, row);
    }

    /** Counts every id of a table's batch (ids already checked against the table by the store). */
    public void record(int table, PooledBatch batch) {
        long[] ids = batch.ids();
        int n = batch.idCount();
        if (logging()) {
            AccessLog log = logOf(table);
            long hi = (long) table << 32;
            for (int i = 0; i < n; i++) {
                log.append(hi | ids[i]);
            }
            log.publish();
        } else {
            for (int i = 0; i < n; i++) {
                add(table, (int) ids[i], weight);
            }
        }
        recorded.add(n);
    }

    /**
     * Counts a table's batch from its deduplication: each unique id as many times as it occurs,
     * rows in the deduplication's order. Each row gets the same additions as counting each id;
     * the log gets one entry a unique id (two when it repeats): about 12K of a step's 53K ids on
     * the 10M-sample Criteo-shaped runs (BENCHMARKS.md). A store counts every batch this way, so its counts never depend on
     * which of the two it used.
     */
    public void record(int table, DedupedIds dedup) {
        record(table, dedup.unique(), dedup.occStart(), dedup.uniqueCount());
    }

    /**
     * As {@link #record(int, DedupedIds)} from a copy of a deduplication's arrays: unique ids
     * {@code unique[0..n)}, id {@code u} occurring {@code occStart[u + 1] - occStart[u]} times
     * ({@code occStart[0..n]}, prefix sums from 0).
     */
    public void record(int table, long[] unique, int[] occStart, int n) {
        int[] occ = occStart;
        if (logging()) {
            AccessLog log = logOf(table);
            long hi = (long) table << 32;
            for (int u = 0; u < n; u++) {
                int c = occ[u + 1] - occ[u];
                if (c > 1) {
                    log.append(COUNT_MARK | c);
                }
                log.append(hi | unique[u]);
            }
            log.publish();
        } else {
            for (int u = 0; u < n; u++) {
                addTimes(table, (int) unique[u], occ[u + 1] - occ[u]);
            }
        }
        recorded.add(n == 0 ? 0 : occ[n]);
    }

    private void recordUncounted(int table, long row) {
        if (logging()) {
            AccessLog log = logOf(table);
            log.append(((long) table << 32) | row);
            log.publish();
            return;
        }
        add(table, (int) row, weight);
    }

    private AccessLog logOf(int table) {
        return logs[table % logs.length];
    }

    /** Entries logged and not yet replayed, all logs (appender's view). */
    private long backlog() {
        long n = 0;
        for (AccessLog log : logs) {
            n += log.backlog();
        }
        return n;
    }

    /**
     * Appender, while the counts are live (nobody replays): the logs start here, each table's
     * replay from the counts' own step, base and weight.
     */
    private void startLogging() {
        for (TableReplay r : replays) {
            r.start();
        }
    }

    /**
     * Step thread: whether accesses must go to the log now. Takes the counts back (live again)
     * when the knob's thread has replayed all but {@link #HAND_BACK} entries: it replays the rest
     * before this access, so the order of additions is the order of accesses whoever applied them.
     */
    private boolean logging() {
        long p = phase.get();
        if ((p & PHASE_MASK) == LIVE) {
            return false;
        }
        if ((p & PHASE_MASK) == CATCHING_UP && backlog() <= HAND_BACK) {
            catchUp(); // the rest is a stretch or so: replayed here, the counts live again
            return false;
        }
        return true;
    }

    /** Counts every id of a batch given per table. */
    public void record(PooledBatch[] perTable) {
        for (int t = 0; t < perTable.length; t++) {
            record(t, perTable[t]);
        }
    }

    /** Accesses recorded so far (log included). */
    public long recorded() {
        return recorded.sum();
    }

    /**
     * Freezes the counts as of now without waiting for a replay of an earlier freeze still behind
     * (the step thread never waits for the knob's thread here): the counts stand still at this
     * point of the log, which {@link #replayToFreeze} reaches (on the knob's thread, before it
     * reads them). Steps and accesses go on to the log meanwhile, as with {@link #freeze()}; an
     * earlier replayer leaves after the stretch it is on. When more than {@link #MAX_BEHIND}
     * entries wait, takes the counts back first (a wait). Returns this freeze's epoch.
     */
    public long freezeBehind() {
        return freezeBehind(MAX_BEHIND);
    }

    /** As {@link #freezeBehind()}, taking the counts back first when more than {@code maxBehind} entries wait. */
    long freezeBehind(long maxBehind) {
        if (backlog() > maxBehind) {
            catchUp(); // counted in caughtUpWaitNanos when a replay was running
        }
        for (int g = 0; g < logs.length; g++) {
            frozenAt[g] = logs[g].appended();
        }
        while (true) {
            long p = phase.get();
            if ((p & PHASE_MASK) == HANDING_BACK) {
                throw new IllegalStateException("freezing while the counts are being taken back");
            }
            if ((p & PHASE_MASK) == LIVE) {
                startLogging(); // only this thread leaves LIVE: no replayer runs
            }
            long epoch = (p >>> 2) + 1;
            if (phase.compareAndSet(p, epoch << 2 | FROZEN)) {
                return epoch;
            }
        }
    }

    /**
     * The knob's thread, for a {@link #freezeBehind} of {@code epoch}: replays the log up to the
     * freeze (an earlier replayer having left), so the counts read next are exactly those of the
     * freeze. Costs the knob's thread what the step thread would have waited for.
     */
    public void replayToFreeze(long epoch) {
        if (phase.get() != (epoch << 2 | FROZEN)) {
            throw new IllegalStateException("counters not frozen as epoch " + epoch);
        }
        while (replaying.get() > 0) {
            Thread.onSpinWait(); // an earlier freeze's replayer, finishing its stretch
        }
        long start = System.nanoTime();
        replayedBehind.add(replayTo(frozenAt, true));
        replayToFreezeNanos.add(System.nanoTime() - start);
    }

    /** Nanoseconds the knob's thread spent replaying up to its freezes ({@link #replayToFreeze}). */
    public long replayToFreezeNanos() {
        return replayToFreezeNanos.sum();
    }

    /**
     * Counts stand still until they are replayed ({@link #replayBehind} or {@link #thaw()});
     * accesses and steps meanwhile go to the log. Returns this freeze's epoch, for
     * {@link #replayBehind}. If the knob's thread is still replaying the previous freeze's log,
     * takes the log back first ({@link #catchUp}: the counts must be those of this step).
     */
    public long freeze() {
        long p = phase.get();
        if ((p & PHASE_MASK) == FROZEN) {
            throw new IllegalStateException("counters already frozen");
        }
        if ((p & PHASE_MASK) == CATCHING_UP) {
            catchUp();
            p = phase.get();
        }
        long epoch = (p >>> 2) + 1;
        startLogging();
        phase.set(epoch << 2 | FROZEN);
        return epoch;
    }

    /** Replays what was logged while frozen, in order (on this thread, or by waiting for the knob's). */
    public void thaw() {
        if (!frozen()) {
            throw new IllegalStateException("counters are not frozen");
        }
        catchUp();
    }

    /**
     * Step thread: brings the counts up to date and makes them live (no-op when live). Replays the
     * log here; when the knob's thread is replaying it, takes it back first, waiting for the
     * stretch it is on (that wait and this replay are counted in {@link #caughtUpWaitNanos}). No
     * evaluation may be reading the counts (wait for it first).
     */
    public void catchUp() {
        long start = System.nanoTime();
        while (true) {
            long p = phase.get();
            long what = p & PHASE_MASK;
            if (what == LIVE) {
                return;
            }
            if (!phase.compareAndSet(p, (p & ~PHASE_MASK) | HANDING_BACK)) {
                continue; // the knob's thread began its replay meanwhile
            }
            if (what == CATCHING_UP) {
                while (replaying.get() > 0) {
                    Thread.onSpinWait(); // its stretch, then it leaves
                }
            }
            for (int g = 0; g < logs.length; g++) {
                appendedEnds[g] = logs[g].appended();
            }
            replayTo(appendedEnds, true); // this thread appends: nothing comes meanwhile
            phase.set(p & ~PHASE_MASK);
            if (what == CATCHING_UP) {
                caughtUpWaitNanos.add(System.nanoTime() - start);
            }
            return;
        }
    }

    /**
     * The knob's thread, once its evaluation of the counts frozen as {@code epoch} is done: replays
     * the log behind the steps, {@link #MIN_ROUND} entries or more at a time, until the step
     * thread takes the counts back. Returns at once if
     * the counts were thawed meanwhile or frozen again; gives the log back (the step thread then
     * replays it) if interrupted.
     */
    public void replayBehind(long epoch) {
        long mine = epoch << 2 | CATCHING_UP;
        replaying.incrementAndGet();
        try {
            if (phase.compareAndSet(epoch << 2 | FROZEN, mine)) {
                replayUntilLive(mine, epoch);
            }
        } finally {
            replaying.decrementAndGet();
        }
    }

    private void replayUntilLive(long mine, long epoch) {
        while (true) {
            long waiting = 0;
            for (int g = 0; g < logs.length; g++) {
                publishedEnds[g] = logs[g].published();
                waiting += publishedEnds[g] - logs[g].taken();
            }
            // Ends read, then the phase: a freeze published before an end read here shows in
            // the phase, so this stretch never runs past a later freeze's point.
            if (phase.get() != mine) {
                return;
            }
            long n = waiting >= MIN_ROUND ? replayTo(publishedEnds, false) : 0;
            replayedBehind.add(n);
            if (n == 0) {
                if (Thread.currentThread().isInterrupted()) {
                    phase.compareAndSet(mine, epoch << 2 | FROZEN);
                    return;
                }
                LockSupport.parkNanos(REPLAYER_IDLE_NANOS);
            }
        }
    }

    /** Log entries the knob's thread replayed behind the steps (accesses and steps). */
    public long replayedBehind() {
        return replayedBehind.sum();
    }

    /** Step-thread nanoseconds spent taking the log back from a running replay and replaying its rest. */
    public long caughtUpWaitNanos() {
        return caughtUpWaitNanos.sum();
    }

    /**
     * Spreads the replay of the logs over threads: {@code runner} runs one task per group of
     * tables (at most {@value #REPLAY_GROUPS}), each reading its group's log and applying its
     * tables' entries (a table's additions depend only on its own rows and the steps). A tiered store hands its counting threads' workers,
     * idle while the counts are logged. Set before the counts are first frozen.
     */
    public void replayOn(TableRunner runner) {
        this.replayRunner = java.util.Objects.requireNonNull(runner, "runner");
    }

    /** The threads {@link #replayOn} named ({@link TableRunner#HERE} by default): the knob ranks tables on them too. */
    public TableRunner tableRunner() {
        return replayRunner;
    }

    /**
     * Replayer: applies each log's entries up to {@code ends[g]} (published), each group on its
     * own task; returns how many entries. {@code cut}: the ends are one point
     * of the appender's sequence (a freeze's, or the end seen by the appender itself), so every
     * table's replay stands at the same step and the counts' clock and weight are set from them.
     */
    private long replayTo(long[] ends, boolean cut) {
        long n = 0;
        for (int g = 0; g < logs.length; g++) {
            if (ends[g] < logs[g].taken()) {
                throw new IllegalStateException("log " + g + " was replayed to " + logs[g].taken() + ", past " + ends[g]);
            }
            groups[g].end = ends[g];
            n += ends[g] - logs[g].taken();
        }
        if (n > 0) {
            replayRunner.run(groups.length, replayGroup);
            for (int g = 0; g < logs.length; g++) {
                logs[g].consume(groups[g].end);
            }
        }
        if (cut) {
            TableReplay any = replays[0]; // at a cut every table saw the same steps
            step = any.step;
            base = any.base;
            weight = any.weight;
        }
        return n;
    }

    private void replayGroup(int g) {
        groups[g].replay();
    }

    /** How to run one task per table (a replay's), returning once all are done. */
    @FunctionalInterface
    public interface TableRunner {
        /** Tasks one after another on the caller. */
        TableRunner HERE = (tables, task) -> {
            for (int t = 0; t < tables; t++) {
                task.accept(t);
            }
        };

        void run(int tables, IntConsumer task);

        /**
         * Each table's task on a thread of {@code pool}, returning once all are done, also when one
         * failed (callers free what the tasks work in): the first failure is rethrown then.
         */
        static TableRunner on(java.util.concurrent.ExecutorService pool) {
            return (tables, task) -> {
                java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>(tables);
                for (int t = 0; t < tables; t++) {
                    int table = t;
                    done.add(pool.submit(() -> task.accept(table)));
                }
                Throwable failed = null;
                boolean interrupted = false;
                for (java.util.concurrent.Future<?> f : done) {
                    while (true) {
                        try {
                            f.get();
                            break;
                        } catch (InterruptedException e) {
                            interrupted = true; // the tasks still run: wait for them, then say so
                        } catch (java.util.concurrent.ExecutionException e) {
                            failed = failed == null ? e.getCause() : failed;
                            break;
                        }
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while tables ran", failed);
                }
                if (failed != null) {
                    throw new IllegalStateException("a table's task failed", failed);
                }
            };
        }
    }

    /**
     * One table's replay of a stretch of the log: its entries applied in order, every step mark
     * moving its own copy of the clock, so it adds exactly what a replay of the whole log would.
     */
    private final class TableReplay {
        private final int table;
        long step;
        long base;
        double weight;

        TableReplay(int table) {
            this.table = table;
        }

        void start() {
            this.step = DecayingCounters.this.step;
            this.base = DecayingCounters.this.base;
            this.weight = DecayingCounters.this.weight;
        }

        void stepTo(long newStep) {
            step = newStep;
            if ((step - base) * log2Growth > RENORM_LOG2) {
                renormalise(table, StrictMath.pow(decay, (double) (step - base)));
                base = step;
            }
            weight = StrictMath.pow(decay, -(double) (step - base));
        }

        void add(int row, int times) {
            addTimes(table, row, times, weight);
        }
    }

    /** The replays of tables {@code g, g + G, g + 2G, ...} ({@code G} groups): their log, read once. */
    private final class GroupReplay implements AccessLog.Sink {
        private final int group;
        private final TableReplay[] mine;
        long end;
        /** Times the next access counts (a count mark sets it; a mark and its access are published together). */
        private int pending = 1;

        GroupReplay(int group, int count) {
            this.group = group;
            mine = new TableReplay[(replays.length - group + count - 1) / count];
            for (int k = 0; k < mine.length; k++) {
                mine[k] = replays[group + k * count];
            }
        }

        void replay() {
            logs[group].read(end, this);
        }

        @Override
        public void accept(long e) {
            if (e < 0) {
                long newStep = e & Long.MAX_VALUE;
                for (TableReplay r : mine) {
                    r.stepTo(newStep);
                }
            } else if ((e & COUNT_MARK) != 0) {
                pending = (int) (e & Integer.MAX_VALUE);
            } else {
                replays[(int) (e >>> 32)].add((int) e, pending);
                pending = 1;
            }
        }
    }

    private void addTimes(int table, int row, int times) {
        addTimes(table, row, times, weight);
    }

    /**
     * {@code times} accesses of one row at {@code weight}: the same additions, in the same order,
     * as {@code times} calls of {@link #add}, with the row's counter read and written once (its
     * read is a miss to memory; repeating it for every occurrence chained the misses).
     */
    private void addTimes(int table, int row, int times, double weight) {
        if (times <= 0) {
            return;
        }
        OffHeapDoubles values = stored[table];
        double old = values.get(row);
        if (old == 0.0) {
            if (freshCount[table] == fresh[table].length) {
                touched(table);
            }
            fresh[table][freshCount[table]++] = row;
        }
        double v = old;
        double total = totals[table];
        for (int k = 0; k < times; k++) {
            v += weight;
            total += weight;
        }
        values.set(row, v);
        totals[table] = total;
    }

    @Override
    public List<TableSpec> tables() {
        return tables;
    }

    @Override
    public double score(int table, long row) {
        return stored[table].get(row) / weight;
    }

    @Override
    public double total(int table) {
        return totals[table] / weight;
    }

    @Override
    public void forEachScored(int table, RowScoreConsumer consumer) {
        OffHeapDoubles values = stored[table];
        double inv = 1.0 / weight;
        PeekableIntIterator it = touched(table).getIntIterator();
        while (it.hasNext()) {
            int row = it.next();
            consumer.accept(row, values.get(row) * inv);
        }
    }

    @Override
    public long scoredRows(int table) {
        return touched(table).getLongCardinality();
    }

    /** Table {@code t}'s touched rows, the first-touched ones buffered since the last merge merged in. */
    private RoaringBitmap touched(int t) {
        int n = freshCount[t];
        if (n > 0) {
            java.util.Arrays.sort(fresh[t], 0, n);
            RoaringBitmap rows = new RoaringBitmap();
            rows.addN(fresh[t], 0, n);
            touched[t].or(rows);
            freshCount[t] = 0;
        }
        return touched[t];
    }

    private void add(int table, int row, double weight) {
        addTimes(table, row, 1, weight);
    }

    private void applyStep(long newStep) {
        step = newStep;
        double exponent = (newStep - base) * log2Growth;
        if (exponent > RENORM_LOG2) {
            double scale = StrictMath.pow(decay, (double) (step - base));
            for (int t = 0; t < stored.length; t++) {
                renormalise(t, scale);
            }
            base = step;
        }
        weight = StrictMath.pow(decay, -(double) (step - base));
    }

    /** Rescales table {@code t}'s touched rows by {@code scale} (to base = step), dropping rows decayed below DROP_BELOW. */
    private void renormalise(int t, double scale) {
        OffHeapDoubles values = stored[t];
        RoaringBitmap dropped = new RoaringBitmap();
        double total = 0;
        PeekableIntIterator it = touched(t).getIntIterator();
        while (it.hasNext()) {
            int row = it.next();
            double v = values.get(row) * scale;
            if (v < DROP_BELOW) {
                values.set(row, 0.0);
                dropped.add(row);
            } else {
                values.set(row, v);
                total += v;
            }
        }
        touched[t].andNot(dropped);
        totals[t] = total;
    }

    /**
     * Checkpoint form, streamed: decay, clock, then per table the touched rows and their stored
     * values, read from off-heap as they are written (a tiered store's checkpoint writes it into
     * a side file of the store: nothing the size of the counters is built on the heap).
     */
    public void writeTo(DataOutput out) throws IOException {
        if (frozen()) {
            throw new IllegalStateException("checkpoint of frozen counters: checkpoint the knob schedule first (that completes its evaluation and thaws them)");
        }
        out.writeInt(BLOB_MAGIC);
        out.writeDouble(decay);
        out.writeLong(base);
        out.writeLong(step);
        out.writeInt(tables.size());
        for (int t = 0; t < tables.size(); t++) {
            out.writeUTF(tables.get(t).name());
            out.writeLong(tables.get(t).rows());
            out.writeDouble(totals[t]);
            touched(t).serialize(out);
            PeekableIntIterator it = touched[t].getIntIterator();
            while (it.hasNext()) {
                out.writeDouble(stored[t].get(it.next()));
            }
        }
    }

    /** {@link #writeTo} into a byte array: for comparing counters (small ones: it is all on the heap). */
    public byte[] toBytes() {
        return Blobs.of(out -> {
            writeTo(out);
        });
    }

    /** Restores {@link #toBytes()} for the same tables, bit for bit. */
    public static DecayingCounters fromBytes(byte[] blob, List<TableSpec> tables) {
        try {
            return readFrom(new DataInputStream(new ByteArrayInputStream(blob)), tables);
        } catch (java.io.EOFException e) {
            throw new IllegalArgumentException("truncated popularity-counters blob", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Restores what {@link #writeTo} wrote for the same tables, bit for bit, reading the stored
     * values straight into off-heap memory. Throws IllegalArgumentException when the bytes are
     * not counters of these tables.
     */
    public static DecayingCounters readFrom(DataInput in, List<TableSpec> tables) throws IOException {
        if (in.readInt() != BLOB_MAGIC) {
            throw new IllegalArgumentException("not popularity counters (bad magic)");
        }
        DecayingCounters c = new DecayingCounters(tables, in.readDouble());
        c.base = in.readLong();
        c.step = in.readLong();
        c.clock = c.step;
        c.weight = StrictMath.pow(c.decay, -(double) (c.step - c.base));
        int n = in.readInt();
        if (n != tables.size()) {
            throw new IllegalArgumentException("counters have " + n + " tables, the store has " + tables.size());
        }
        for (int t = 0; t < n; t++) {
            String name = in.readUTF();
            long rows = in.readLong();
            if (!tables.get(t).name().equals(name) || tables.get(t).rows() != rows) {
                throw new IllegalArgumentException("counters' table " + t + " is " + name + " with " + rows
                        + " rows, the store has " + tables.get(t).name() + " with " + tables.get(t).rows());
            }
            c.totals[t] = in.readDouble();
            c.touched[t].deserialize(in);
            if (!c.touched[t].isEmpty() && Integer.toUnsignedLong(c.touched[t].last()) >= rows) {
                throw new IllegalArgumentException("counters' table " + name + " counts row " + Integer.toUnsignedLong(c.touched[t].last())
                        + ", beyond its " + rows + " rows");
            }
            PeekableIntIterator it = c.touched[t].getIntIterator();
            while (it.hasNext()) {
                c.stored[t].set(it.next(), in.readDouble());
            }
        }
        return c;
    }
}
