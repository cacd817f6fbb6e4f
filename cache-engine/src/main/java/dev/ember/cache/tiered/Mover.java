package dev.ember.cache.tiered;

import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.hot.HotBatch;
import dev.ember.cache.hot.HotTier;
import dev.ember.cache.hotset.HotSets;
import dev.ember.cache.hotset.MoveChunk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Moves rows between the tiers at step boundaries, one chunk at a time, with the cold tier's half
 * of every move behind the steps, so that a boundary costs the hot tier's calls and bookkeeping.
 *
 * <p><b>A chunk's life.</b> At boundary k ({@link #start}) the chunk is planned; a promoted row
 * that a batch still writes back to the cold tier takes its bytes from that batch now (the newest
 * value, final), the others are read from the cold tier on the mover's own thread (every write of
 * them has landed); nothing moves yet. At boundary
 * k+1 ({@link #publish}) the read has normally finished long before; if not (a busy machine), the
 * step thread reads the tables the mover's thread has not begun and waits only for the one it is
 * on. Then the chunk is checked against what happened meanwhile:
 * <ul>
 *   <li>a row (either way) a batch in flight uses is dropped from the chunk (it stays pending, a
 *       later chunk takes it): rows in use never move; for each demotion dropped one more
 *       promotion goes, so the hot rows stay within the bytes the plan allowed;</li>
 *   <li>a promoted row a batch applied since the plan missed (the {@link WriteBehind.Watcher}
 *       marks it) may have been written after the read: taken from the newest batch still writing
 *       it, or, when that write has landed, read again from the cold tier here (a few rows, with a
 *       reader of the step thread's own, so no write of the table holds it up);</li>
 *   <li>else the read's bytes are the row's newest value.</li>
 * </ul>
 * Then the demotions leave the hot tier (a device copy into host memory), the promotions enter it,
 * and the chunk is published: the hot set switches at once, with no step missing both the old and
 * the new rows. The demoted dirty rows go to the cold tier as one more writing batch of
 * {@link WriteBehind} (a "carrier"): until they land, later batches that miss them take their
 * bytes from it and moves wait for them, as for any batch writing back. A chunk with no
 * promotions moves at once. Moves never change a value, and which rows move at which boundary
 * depends only on the calls (plan at k, drops at k+1), never on thread timing.
 *
 * <pre>
 *  promote bytes: | rows of table t0 (chunk order) | rows of t1 | ...   capacity x rowBytes, position i = chunk index i
 *  touched:       | i -> a batch applied since the plan missed promoted row i |
 *  carrier (a StepBatch, WRITING): miss[t] = dirty demoted rows, missBytes[t] = their bytes, missIndex[t]
 * </pre>
 * All rows share one row layout (one hot tier). One thread (the step thread) calls
 * {@link #start}, {@link #publish}, {@link #started} and {@link #close}.
 */
final class Mover implements WriteBehind.Watcher, AutoCloseable {
    /** Carriers made at most before a demotion waits for the oldest to land. */
    private static final int MAX_CARRIERS = 8;

    private final TieredStore owner;
    private final HotTier tier;
    private final int[] handle;
    private final HotSets hotSets;
    private final HotSets.RowsInUse inUse;
    private final WriteBehind writeBehind;
    private final ExecutorService readThread;
    /** Readers of the mover's thread and of the step thread (a table's synchronized gather waits for its writes). */
    private final ColdTable.Reader[] moveReaders;
    private final ColdTable.Reader[] stepReaders;
    private final int tables;
    private final int rowBytes;
    private final int capacity;
    private final MoveChunk chunk;

    // Demotions: one table's rows at a time, then their dirty ones copied into a carrier.
    private final long[] demoteRows;
    private final boolean[] demoteDirty;
    private final ByteBuffer demoteBytes;
    private final List<StepBatch> carriers = new ArrayList<>();

    // Promotions in transit: group g = table groupTable[g], chunk indices groupStart[g]..+groupCount[g].
    private final int[] groupTable;
    private final int[] groupStart;
    private final int[] groupCount;
    private final long[][] rowsOf;
    private int groups;
    private final ByteBuffer promoteBytes;
    private final boolean[] touched;
    private final boolean[] keep;
    private final boolean[] keepDemoted;
    private final long[] rereadRows;
    private final int[] rereadAt;
    private final ByteBuffer rereadBytes;
    // The promotions the mover's thread reads: per group, readCount[g] rows readRows[t] to chunk indices readAt[t].
    private final long[][] readRows;
    private final int[][] readAt;
    private final int[] readCount;
    private final ByteBuffer readBytes;
    private final Runnable readTask = this::readAll;
    private Future<?> read;
    /** Groups claimed for reading (by the mover's thread, or the step thread when the chunk is due) and done. */
    private final AtomicInteger nextGroup = new AtomicInteger();
    private final AtomicInteger groupsRead = new AtomicInteger();
    private boolean open;

    private long promoted;
    private long demoted;
    private final LongAdder fromWriteBacks;
    private final LongAdder reread = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder readWaitNanos = new LongAdder();
    private final LongAdder carrierWaitNanos = new LongAdder();

    Mover(TieredStore owner, HotTier tier, int[] handle, List<ColdTable> cold, HotSets hotSets, HotSets.RowsInUse inUse,
          WriteBehind writeBehind, int rowBytes, int capacity, LongAdder fromWriteBacks) {
        this.owner = owner;
        this.tier = tier;
        this.handle = handle;
        this.hotSets = hotSets;
        this.inUse = inUse;
        this.writeBehind = writeBehind;
        this.tables = cold.size();
        this.rowBytes = rowBytes;
        this.capacity = capacity;
        this.fromWriteBacks = fromWriteBacks;
        this.chunk = new MoveChunk(capacity);
        this.demoteRows = new long[capacity];
        this.demoteDirty = new boolean[capacity];
        this.demoteBytes = direct((long) capacity * rowBytes);
        this.groupTable = new int[tables];
        this.groupStart = new int[tables];
        this.groupCount = new int[tables];
        this.rowsOf = new long[tables][];
        this.promoteBytes = direct((long) capacity * rowBytes);
        this.touched = new boolean[capacity];
        this.keep = new boolean[capacity];
        this.keepDemoted = new boolean[capacity];
        this.rereadRows = new long[capacity];
        this.rereadAt = new int[capacity];
        this.rereadBytes = direct((long) capacity * rowBytes);
        this.readRows = new long[tables][];
        this.readAt = new int[tables][];
        this.readCount = new int[tables];
        this.readBytes = direct((long) capacity * rowBytes);
        this.readThread = Executors.newSingleThreadExecutor(r -> {
            Thread th = new Thread(r, "ember-move");
            th.setDaemon(true);
            return th;
        });
        this.moveReaders = new ColdTable.Reader[tables];
        this.stepReaders = new ColdTable.Reader[tables];
        for (int t = 0; t < tables; t++) {
            moveReaders[t] = cold.get(t).newReader();
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

    /**
     * Step-thread nanoseconds spent on a chunk's read when it was due and not done (reading the
     * groups the mover's thread had not begun, waiting for the one it was on), and waiting for a
     * carrier's write (demoting).
     */
    long[] waitNanos() {
        return new long[] {readWaitNanos.sum(), carrierWaitNanos.sum()};
    }

    /** Planned moves dropped at publishing because a batch in flight used the row by then (or, for promotions, no room). */
    long promotionsDropped() {
        return dropped.sum();
    }

    /**
     * Plans the next chunk and starts reading its promotions behind the steps (a chunk without
     * promotions moves at once). Returns false when no move can be planned now.
     */
    boolean start() {
        if (open) {
            throw new IllegalStateException("a chunk is still in transit: publish it first");
        }
        if (!hotSets.planChunk(chunk)) {
            return false;
        }
        if (chunk.promoteCount() == 0) {
            int d = chunk.demoteCount();
            try {
                demote();
            } catch (RuntimeException e) {
                hotSets.abort(chunk);
                throw e;
            }
            hotSets.commit(chunk);
            demoted += d;
            return true;
        }
        int toRead = groupPromotions();
        open = true;
        nextGroup.set(0);
        groupsRead.set(0);
        read = toRead == 0 ? null : readThread.submit(readTask);
        return true;
    }

    /**
     * Moves the chunk in transit (waiting for its read if it is still running): rows a batch in
     * flight uses are dropped, promoted rows written since the read come from the newest bytes;
     * demotions leave the hot tier, promotions enter it, and the chunk is published. No-op when
     * none is in transit.
     */
    void publish() {
        if (!open) {
            return;
        }
        open = false;
        int d;
        int p;
        try {
            finishRead();
            int planned = chunk.demoteCount();
            d = keepDemotionsNotInUse();
            p = keepPromotionsNotInUse(planned - d);
            demote();
            for (int g = 0; g < groups; g++) {
                settleGroup(g);
            }
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

    /** Drops the chunk's demotions of rows in use (from the chunk itself); returns those kept. */
    private int keepDemotionsNotInUse() {
        int n = chunk.demoteCount();
        for (int i = 0; i < n; i++) {
            boolean free = !inUse.inUse(chunk.demoteTable(i), chunk.demoteRow(i));
            keepDemoted[i] = free;
            if (!free) {
                dropped.increment();
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
                boolean free = !inUse.inUse(t, rows[k]);
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

    /** Gives up the chunk in transit and stops the mover's thread. */
    @Override
    public void close() {
        try {
            abandon();
        } finally {
            readThread.shutdownNow();
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

    /** The chunk's demotions, table by table: out of the hot tier, dirty rows into a carrier that writes them behind. */
    private void demote() {
        int d = chunk.demoteCount();
        if (d == 0) {
            return;
        }
        StepBatch c = freeCarrier();
        int dirty = 0;
        try {
            int i = 0;
            while (i < d) {
                int t = chunk.demoteTable(i);
                int n = 0;
                while (i < d && chunk.demoteTable(i) == t) {
                    demoteRows[n++] = chunk.demoteRow(i++);
                }
                tier.demote(handle[t], demoteRows, n, demoteBytes, demoteDirty);
                ByteBuffer dst = carrierBytes(c, t);
                long[] miss = c.miss[t];
                int m = 0;
                for (int k = 0; k < n; k++) {
                    if (demoteDirty[k]) {
                        miss[m] = demoteRows[k];
                        dst.put(m * rowBytes, demoteBytes, k * rowBytes, rowBytes);
                        m++;
                    }
                }
                c.missCount[t] = m;
                c.missIndex[t].build(miss, m);
                dirty += m;
            }
        } finally {
            if (dirty > 0) {
                writeBehind.start(c); // even after a device error: what left the hot tier must land
            }
        }
    }

    /** A carrier whose last write has landed (its tables emptied), made anew while few exist. */
    private StepBatch freeCarrier() {
        StepBatch c = null;
        for (StepBatch b : carriers) {
            if (b.state == StepBatch.OPEN) {
                c = b;
                break;
            }
        }
        if (c == null && carriers.size() < MAX_CARRIERS) {
            c = new StepBatch(owner, tables, 1, capacity, rowBytes, new HotBatch[tables], new ColdTable.Reader[tables],
                    new ByteBuffer[tables]);
            for (int t = 0; t < tables; t++) {
                c.missIndex[t].build(c.miss[t], 0); // a new index is not empty until built
            }
            carriers.add(c);
        }
        if (c == null) {
            long w = System.nanoTime();
            c = carriers.get(0);
            writeBehind.finish(c);
            carrierWaitNanos.add(System.nanoTime() - w);
        }
        for (int t = 0; t < tables; t++) {
            if (c.missCount[t] > 0) {
                c.missCount[t] = 0;
                c.missIndex[t].build(c.miss[t], 0); // split looks up every table of a writing batch
            }
        }
        return c;
    }

    private ByteBuffer carrierBytes(StepBatch c, int t) {
        if (c.missBytes[t] == null) {
            c.missBytes[t] = direct((long) capacity * rowBytes);
        }
        return c.missBytes[t];
    }

    /**
     * Splits the chunk's promotions by table; a row a batch still writes back takes its bytes from
     * the newest such batch now, the others are listed for the mover's thread. Returns how many
     * are to be read.
     */
    private int groupPromotions() {
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
                if (e != null) {
                    promoteBytes.put(i * rowBytes, e.missBytes[t], e.missIndex[t].get(row) * rowBytes, rowBytes);
                    fromWriteBacks.increment();
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

    /** The mover's thread: the listed promotions read from the cold tier into their places. */
    private void readAll() {
        readGroups(moveReaders, readBytes);
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
     * The chunk is due: its read must be complete. When the mover's thread is behind (a busy
     * machine), the step thread reads the groups it has not begun and waits only for the one it is
     * on, rather than for the whole read.
     */
    private void finishRead() {
        if (read == null) {
            return;
        }
        try {
            if (groupsRead.get() < groups) {
                long w = System.nanoTime();
                readGroups(stepReaders, rereadBytes);
                while (groupsRead.get() < groups && !read.isDone()) {
                    Thread.yield(); // the group the mover's thread is on
                }
                readWaitNanos.add(System.nanoTime() - w);
            }
            if (groupsRead.get() < groups || read.isDone()) {
                await(read); // a failed read says why
            }
        } finally {
            read = null;
        }
    }

    /**
     * Group {@code g} at publishing: takes kept rows written since the read from their newest
     * bytes, packs the kept rows to the group's front and puts them in the hot tier.
     */
    private void settleGroup(int g) {
        int t = groupTable[g];
        int s = groupStart[g];
        int n = groupCount[g];
        long[] rows = rowsOf[t];
        int again = 0;
        for (int k = 0; k < n; k++) {
            long row = rows[k];
            if (!keep[s + k] || !touched[s + k]) {
                continue;
            }
            StepBatch e = writeBehind.newestWith(t, row);
            if (e != null) {
                promoteBytes.put((s + k) * rowBytes, e.missBytes[t], e.missIndex[t].get(row) * rowBytes, rowBytes);
                fromWriteBacks.increment();
            } else {
                rereadRows[again] = row; // its write landed after the read began: the cold tier has it now
                rereadAt[again++] = s + k;
            }
        }
        if (again > 0) {
            stepReaders[t].gather(rereadRows, again, rereadBytes);
            for (int j = 0; j < again; j++) {
                promoteBytes.put(rereadAt[j] * rowBytes, rereadBytes, j * rowBytes, rowBytes);
            }
            reread.add(again);
        }
        int w = 0;
        for (int k = 0; k < n; k++) {
            if (keep[s + k]) {
                if (w != k) {
                    rows[w] = rows[k];
                    promoteBytes.put((s + w) * rowBytes, promoteBytes, (s + k) * rowBytes, rowBytes);
                }
                w++;
            }
        }
        if (w > 0) {
            tier.promote(handle[t], rows, w, slice(promoteBytes, s, w));
        }
    }

    private ByteBuffer slice(ByteBuffer buf, int firstRow, int rows) {
        return buf.slice(firstRow * rowBytes, rows * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer direct(long bytes) {
        return ByteBuffer.allocateDirect((int) Math.max(64, bytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void await(Future<?> f) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a move's read of the cold tier", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException("reading rows to promote from the cold tier failed: " + e.getCause(), e.getCause());
        }
    }
}
