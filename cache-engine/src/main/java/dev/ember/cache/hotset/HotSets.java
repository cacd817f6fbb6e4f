package dev.ember.cache.hotset;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.durability.Blobs;
import dev.ember.cache.table.TableSpec;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.roaringbitmap.RoaringBitmap;

/**
 * The published hot set, the rows in-flight batches use, and the moves that take the current
 * hot set to a target one in bounded chunks.
 *
 * <p><b>Generations.</b> {@link #current()} is an immutable {@link HotSet}; each committed chunk
 * publishes a new one with generation + 1 (a volatile write), so readers never see a bitmap
 * change.
 *
 * <p><b>Pinning.</b> A batch is built against a generation: {@link #pin} returns the current
 * snapshot and, atomically with it, counts every (table, row) of the batch as pinned;
 * {@link #release} uncounts them when the batch's updates are applied. {@link #planChunk} never
 * takes a pinned row: its move is deferred (it stays pending and is retried by later chunks).
 * Hence every row a pinned batch uses has the same owner in its generation as in the current
 * one, whatever generations were published since, and a pipeline of in-flight batches (lookahead)
 * does not block re-tiering of the other rows. While a chunk is planned but not yet committed or
 * aborted its rows are in transit, so {@link #pin} waits for it (chunks are small and bounded).
 *
 * <p><b>Moves.</b> {@link #retarget} sets the target and computes
 * {@code promote = target.andNot(current)}, {@code demote = current.andNot(target)}; that costs
 * time in proportion to the hot set, so the knob's thread computes it ahead with
 * {@link #prepare} and the step thread adopts it with {@link #retarget(PreparedTarget)}.
 * {@link #planChunk} fills a {@link MoveChunk} with up to its capacity of unpinned moves,
 * demotions first; promotions only while the hot bytes stay within {@code max(bytes when
 * retargeted, target bytes)}, so the hot tier never needs more room than it already had or the
 * target needs. The store copies the rows (promotion: cold -> hot; demotion: write back dirty
 * rows) and then calls {@link #commit}, which publishes the next generation and drops the
 * moved rows from the pending sets: each pending move is taken exactly once. Committing costs the
 * chunk, not the hot set: the pending sets change in place and the next generation shares every
 * Roaring container the chunk does not touch ({@link HotSet}, {@code CopyOnWrite}).
 */
public final class HotSets {
    private static final int BLOB_MAGIC = 0x45485332; // "EHS2"

    private final List<TableSpec> tables;
    private final PinCounts pins;
    private final int[] rowBytes;
    private volatile HotSet current;

    // Guarded by this.
    private HotSet target;
    private RoaringBitmap[] pendingPromote;
    private RoaringBitmap[] pendingDemote;
    /**
     * Where the next {@link #planChunk} takes up each table's pending rows (rows in use it passed
     * over are looked at again once the rest were), for the pending sets of {@code resumeFor}.
     */
    private final int[] demoteFrom;
    private final int[] promoteFrom;
    private RoaringBitmap[] resumeFor;
    private long byteLimit;
    private boolean chunkOpen;
    private long mark;
    private RoaringBitmap[] movedSinceMark;
    private final LongAdder slowRetargets = new LongAdder();
    private final LongAdder rebases = new LongAdder();

    private final LongAdder pinnedBatches = new LongAdder();
    /** When set, moves ask it which rows batches in flight use, instead of counting pins. */
    private volatile RowsInUse rowsInUse;

    /** The rows batches in flight use, as their owner knows them. */
    @FunctionalInterface
    public interface RowsInUse {
        boolean inUse(int table, long row);

        /**
         * As {@link #inUse(int, long)}, told whether the row is hot in the current generation (a
         * planned demotion is, a promotion is not), so the owner need not look it up.
         */
        default boolean inUse(int table, long row, boolean hot) {
            return inUse(table, row);
        }

        /** A mark of the batches in flight now, for {@link #inUseSince}. */
        default long mark() {
            return 0;
        }

        /**
         * Whether a batch put in flight after {@code mark} uses the row: all a planned move needs
         * asking at publishing, when no batch in flight at its planning used it (those batches'
         * rows do not change; one applied since is seen by the move's own checks).
         */
        default boolean inUseSince(int table, long row, long mark) {
            return inUse(table, row);
        }
    }
    private final LongAdder deferredMoves = new LongAdder();
    private final LongAdder promoted = new LongAdder();
    private final LongAdder demoted = new LongAdder();

    public HotSets(HotSet initial) {
        this.current = initial;
        this.tables = initial.tables();
        this.pins = new PinCounts(1 << 16);
        this.rowBytes = new int[tables.size()];
        for (int t = 0; t < rowBytes.length; t++) {
            rowBytes[t] = tables.get(t).layout().bytesPerRow();
        }
        this.demoteFrom = new int[tables.size()];
        this.promoteFrom = new int[tables.size()];
    }

    /** The published snapshot; never changes under the reader. */
    public HotSet current() {
        return current;
    }

    public List<TableSpec> tables() {
        return tables;
    }

    /**
     * Pins every id of a batch ({@code perTable[t]} holds table t's ids) and returns the
     * generation to build it against. Waits while a chunk is in transit.
     */
    public synchronized HotSet pin(PooledBatch[] perTable) {
        checkTables(perTable);
        awaitNoChunk();
        for (int t = 0; t < perTable.length; t++) {
            PooledBatch b = perTable[t];
            long[] ids = b.ids();
            for (int i = 0, n = b.idCount(); i < n; i++) {
                checkRow(t, ids[i]);
            }
        }
        for (int t = 0; t < perTable.length; t++) {
            PooledBatch b = perTable[t];
            long[] ids = b.ids();
            for (int i = 0, n = b.idCount(); i < n; i++) {
                pins.increment(PinCounts.key(t, ids[i]));
            }
        }
        pinnedBatches.increment();
        return current;
    }

    private void awaitNoChunk() {
        boolean interrupted = false;
        while (chunkOpen) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Releases a batch pinned by {@link #pin}; the batch must be unchanged since. */
    public synchronized void release(PooledBatch[] perTable) {
        checkTables(perTable);
        for (int t = 0; t < perTable.length; t++) {
            PooledBatch b = perTable[t];
            long[] ids = b.ids();
            for (int i = 0, n = b.idCount(); i < n; i++) {
                pins.decrement(PinCounts.key(t, ids[i]));
            }
        }
        pinnedBatches.decrement();
    }

    /**
     * From now on moves skip the rows {@code rows} says are in use, and batches are not pinned: for
     * an owner that tracks its few batches in flight itself (a lookup in each), which costs far less
     * than counting a pin per row of every batch.
     */
    public void trackRowsInUse(RowsInUse rows) {
        this.rowsInUse = rows;
    }

    private boolean pinned(int table, long row) {
        RowsInUse r = rowsInUse;
        return r != null ? r.inUse(table, row) : pins.contains(PinCounts.key(table, row));
    }

    /** As {@link #pinned(int, long)} for a row whose tier is known (a planned move's). */
    private boolean pinned(int table, long row, boolean hot) {
        RowsInUse r = rowsInUse;
        return r != null ? r.inUse(table, row, hot) : pins.contains(PinCounts.key(table, row));
    }

    public synchronized boolean isPinned(int table, long row) {
        return row >= 0 && row <= HotSet.MAX_ROWS && pinned(table, row);
    }

    /** Batches pinned and not yet released. */
    public long pinnedBatches() {
        return pinnedBatches.sum();
    }

    /**
     * Makes {@code next}'s rows the target (its generation number is ignored: each committed
     * chunk publishes current + 1). Replaces any earlier target; moves already committed stay.
     */
    public synchronized void retarget(HotSet next) {
        if (chunkOpen) {
            throw new IllegalStateException("retarget while a move chunk is in transit: commit or abort it first");
        }
        checkTarget(next);
        HotSetDiff diff = HotSetDiff.between(current, next);
        target = next;
        pendingPromote = new RoaringBitmap[tables.size()];
        pendingDemote = new RoaringBitmap[tables.size()];
        for (int t = 0; t < pendingPromote.length; t++) {
            pendingPromote[t] = diff.promote(t);
            pendingDemote[t] = diff.demote(t);
        }
        byteLimit = Math.max(current.hotBytes(), next.hotBytes());
    }

    /**
     * A target with its differences computed off the step path: {@link #prepare} runs on any
     * thread (the knob's), {@link #retarget(PreparedTarget)} on the step thread then only adopts
     * them and corrects the rows committed since, so it costs the moves since the preparation, not
     * the size of the hot set.
     */
    public static final class PreparedTarget {
        final HotSets owner;
        final HotSet target;
        final HotSetDiff diff;
        final long mark;

        private PreparedTarget(HotSets owner, HotSet target, HotSetDiff diff, long mark) {
            this.owner = owner;
            this.target = target;
            this.diff = diff;
            this.mark = mark;
        }

        public HotSet target() {
            return target;
        }
    }

    /**
     * Computes the differences between the current hot set and {@code next} for a later
     * {@link #retarget(PreparedTarget)}; safe on any thread, and the expensive part runs outside
     * the lock. Only the latest preparation can be adopted cheaply; an older one falls back to a
     * full recomputation.
     */
    public PreparedTarget prepare(HotSet next) {
        checkTarget(next);
        HotSet base;
        long m;
        synchronized (this) {
            base = current;
            m = ++mark;
            movedSinceMark = emptyBitmaps();
        }
        return new PreparedTarget(this, next, HotSetDiff.between(base, next), m);
    }

    /** As {@link #retarget(HotSet)}, adopting differences computed by {@link #prepare}. */
    public synchronized void retarget(PreparedTarget prepared) {
        if (chunkOpen) {
            throw new IllegalStateException("retarget while a move chunk is in transit: commit or abort it first");
        }
        if (prepared.owner != this) {
            throw new IllegalArgumentException("this target was prepared against other hot sets (prepare it with these)");
        }
        if (prepared.mark != mark || movedSinceMark == null) {
            slowRetargets.increment();
            retarget(prepared.target);
            return;
        }
        HotSet next = prepared.target;
        pendingPromote = new RoaringBitmap[tables.size()];
        pendingDemote = new RoaringBitmap[tables.size()];
        for (int t = 0; t < pendingPromote.length; t++) {
            correct(prepared, t, movedSinceMark[t], current);
            pendingPromote[t] = prepared.diff.promote(t);
            pendingDemote[t] = prepared.diff.demote(t);
        }
        target = next;
        byteLimit = Math.max(current.hotBytes(), next.hotBytes());
        movedSinceMark = null;
        mark++;
    }

    /**
     * Folds the rows committed since {@code prepared} was made (or last rebased) into its
     * differences, on the calling thread (the knob's, shortly before its choice is due), so that
     * {@link #retarget(PreparedTarget)} corrects only the rows committed after this. Must not
     * overlap that retarget. A stale preparation is left alone (its retarget recomputes).
     */
    public void rebase(PreparedTarget prepared) {
        RoaringBitmap[] moved;
        HotSet now;
        synchronized (this) {
            if (prepared.owner != this || prepared.mark != mark || movedSinceMark == null) {
                return;
            }
            moved = movedSinceMark;
            now = current;
            movedSinceMark = emptyBitmaps();
        }
        for (int t = 0; t < moved.length; t++) {
            correct(prepared, t, moved[t], now);
        }
        rebases.increment();
    }

    /**
     * Rows committed since the differences were made: their pending state follows {@code now}'s
     * owner. Bitmap algebra over the moved rows M costs in proportion to M, not to the hot set.
     */
    private static void correct(PreparedTarget prepared, int t, RoaringBitmap moved, HotSet now) {
        if (moved.isEmpty()) {
            return;
        }
        RoaringBitmap promote = prepared.diff.promote(t);
        RoaringBitmap demote = prepared.diff.demote(t);
        promote.andNot(moved);
        demote.andNot(moved);
        RoaringBitmap wanted = RoaringBitmap.and(moved, prepared.target.bitmap(t));
        RoaringBitmap hot = RoaringBitmap.and(moved, now.bitmap(t));
        promote.or(RoaringBitmap.andNot(wanted, hot));
        demote.or(RoaringBitmap.andNot(hot, wanted));
    }

    /** Preparations rebased ({@link #rebase}) before their retarget. */
    public long rebases() {
        return rebases.sum();
    }

    private RoaringBitmap[] emptyBitmaps() {
        RoaringBitmap[] b = new RoaringBitmap[tables.size()];
        for (int t = 0; t < b.length; t++) {
            b[t] = new RoaringBitmap();
        }
        return b;
    }

    /** Prepared targets that were stale and fell back to a full recomputation on the step thread. */
    public long slowRetargets() {
        return slowRetargets.sum();
    }

    /** The target set by {@link #retarget}, or null. */
    public synchronized HotSet target() {
        return target;
    }

    public synchronized long pendingPromotions() {
        return count(pendingPromote);
    }

    public synchronized long pendingDemotions() {
        return count(pendingDemote);
    }

    /** True when no move is pending (the current hot set has the target's rows). */
    public synchronized boolean settled() {
        return pendingPromote == null || (count(pendingPromote) == 0 && count(pendingDemote) == 0);
    }

    /**
     * Plans the next chunk: up to {@code chunk.limit()} unpinned moves, demotions first, each
     * table's taken up where the last planning left it; once a move is planned, at most
     * {@code chunk.limit()} pinned rows are passed over before the chunk is closed. Returns false
     * (and leaves nothing open) when no move can be made now: none pending, or all pending ones
     * pinned, or promotions blocked by room until pinned demotions go.
     */
    /** Rows a plan with a deadline looks at between readings of the clock. */
    static final int CLOCK_ROWS = 16;
    private final LongAdder lateStops = new LongAdder();

    /** Plans stopped by their deadline ({@link MoveChunk#deadline}). */
    public long lateStops() {
        return lateStops.sum();
    }

    public synchronized boolean planChunk(MoveChunk chunk) {
        if (chunkOpen) {
            throw new IllegalStateException("a move chunk is already in transit: commit or abort it first");
        }
        chunk.clear();
        if (pendingPromote == null) {
            return false;
        }
        if (resumeFor != pendingPromote) { // a new target: every table from its first pending row
            resumeFor = pendingPromote;
            java.util.Arrays.fill(demoteFrom, 0);
            java.util.Arrays.fill(promoteFrom, 0);
        }
        int cap = chunk.limit();
        // Rows in use passed over, at most a chunk's worth once a row is planned (a bounded plan:
        // at most that many, planned or not): right after a retarget most rows to demote may
        // still be in use, and checking them all held up a step boundary for most of a millisecond.
        int skips = cap;
        boolean untilOne = !chunk.bounded();
        // A bounded plan may also have a deadline: it stops there, looking at the clock every
        // CLOCK_ROWS rows (the rows it did not reach wait for the next plan).
        long deadline = chunk.deadline();
        boolean late = false;
        int looked = 0;
        long bytes = current.hotBytes();
        for (int t = 0; t < pendingDemote.length && !late && chunk.size() < cap && (skips > 0 || untilOne && chunk.size() == 0); t++) {
            RoaringBitmap pending = pendingDemote[t];
            long r = firstFrom(pending, demoteFrom[t]);
            while (r >= 0 && !late && chunk.size() < cap && (skips > 0 || untilOne && chunk.size() == 0)) {
                if (pinned(t, r, true)) {
                    deferredMoves.increment();
                    skips--;
                } else {
                    chunk.demoteTable[chunk.demoteCount] = t;
                    chunk.demoteRow[chunk.demoteCount++] = (int) r;
                    bytes -= rowBytes[t];
                }
                r = r == HotSet.MAX_ROWS ? -1 : pending.nextValue((int) r + 1);
                late = deadline != 0 && ++looked % CLOCK_ROWS == 0 && System.nanoTime() - deadline >= 0;
            }
            demoteFrom[t] = r < 0 ? 0 : (int) r; // the next planning goes on from the first row not looked at
        }
        for (int t = 0; t < pendingPromote.length && !late && chunk.size() < cap && (skips > 0 || untilOne && chunk.size() == 0); t++) {
            RoaringBitmap pending = pendingPromote[t];
            long r = firstFrom(pending, promoteFrom[t]);
            while (r >= 0 && !late && chunk.size() < cap && (skips > 0 || untilOne && chunk.size() == 0) && bytes + rowBytes[t] <= byteLimit) {
                if (pinned(t, r, false)) {
                    deferredMoves.increment();
                    skips--;
                } else {
                    chunk.promoteTable[chunk.promoteCount] = t;
                    chunk.promoteRow[chunk.promoteCount++] = (int) r;
                    bytes += rowBytes[t];
                }
                r = r == HotSet.MAX_ROWS ? -1 : pending.nextValue((int) r + 1);
                late = deadline != 0 && ++looked % CLOCK_ROWS == 0 && System.nanoTime() - deadline >= 0;
            }
            promoteFrom[t] = r < 0 ? 0 : (int) r;
        }
        if (late) {
            lateStops.increment();
        }
        if (chunk.size() == 0) {
            return false;
        }
        chunk.basedOn = current.generation();
        chunkOpen = true;
        return true;
    }

    /** The first pending row at or after {@code from}, else the first of all (-1: none). */
    private static long firstFrom(RoaringBitmap pending, int from) {
        if (pending.isEmpty()) {
            return -1;
        }
        long r = pending.nextValue(from);
        return r < 0 && from > 0 ? pending.nextValue(0) : r;
    }

    /** Publishes the generation with the chunk's rows moved; returns it. */
    public synchronized HotSet commit(MoveChunk chunk) {
        checkOpen(chunk);
        // Each table's rows are a run of the chunk, ascending (planChunk's order): a bitmap each
        // way in one pass, then out of the pending sets in place, one pass per container (a
        // row-by-row remove would shift an array container per row).
        int d = 0;
        int p = 0;
        for (int t = 0; t < tables.size(); t++) {
            int d0 = d;
            while (d < chunk.demoteCount && chunk.demoteTable[d] == t) {
                d++;
            }
            int p0 = p;
            while (p < chunk.promoteCount && chunk.promoteTable[p] == t) {
                p++;
            }
            if (p > p0) {
                moved(t, pendingPromote[t], chunk.promoteRow, p0, p);
            }
            if (d > d0) {
                moved(t, pendingDemote[t], chunk.demoteRow, d0, d);
            }
        }
        HotSet next = current.next(chunk); // checks the grouping
        current = next;
        promoted.add(chunk.promoteCount);
        demoted.add(chunk.demoteCount);
        chunkOpen = false;
        chunk.clear();
        notifyAll();
        return next;
    }

    /** Rows {@code rows[from..to)} (ascending) of table {@code t} moved: out of {@code pending}, into the moves since the mark. */
    private void moved(int t, RoaringBitmap pending, int[] rows, int from, int to) {
        RoaringBitmap these = new RoaringBitmap();
        these.addN(rows, from, to - from);
        pending.andNot(these);
        if (movedSinceMark != null) {
            movedSinceMark[t].or(these);
        }
    }

    /** Gives up a planned chunk (the copy failed): nothing is published, its moves stay pending. */
    public synchronized void abort(MoveChunk chunk) {
        checkOpen(chunk);
        chunkOpen = false;
        chunk.clear();
        resumeFor = null; // its rows are still pending: the next planning looks from each table's first
        notifyAll();
    }

    public long deferredMoves() {
        return deferredMoves.sum();
    }

    public long promotedRows() {
        return promoted.sum();
    }

    public long demotedRows() {
        return demoted.sum();
    }

    /** Checkpoint form: the current snapshot and the target (if any). No chunk may be in transit. */
    public synchronized byte[] toBytes() {
        if (chunkOpen) {
            throw new IllegalStateException("checkpoint while a move chunk is in transit: commit or abort it first");
        }
        return Blobs.of(out -> {
            out.writeInt(BLOB_MAGIC);
            writeBlob(out, current.toBytes());
            out.writeBoolean(target != null);
            if (target != null) {
                writeBlob(out, target.toBytes());
            }
        });
    }

    /** Restores {@link #toBytes()}: the same current generation, target and pending moves. */
    public static HotSets fromBytes(byte[] blob, List<TableSpec> tables) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(blob));
            if (in.readInt() != BLOB_MAGIC) {
                throw new IllegalArgumentException("not a hot-sets blob (bad magic)");
            }
            HotSets sets = new HotSets(HotSet.fromBytes(readBlob(in), tables));
            if (in.readBoolean()) {
                sets.retarget(HotSet.fromBytes(readBlob(in), tables));
            }
            return sets;
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated hot-sets blob", e);
        }
    }

    private static void writeBlob(DataOutput out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] readBlob(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return b;
    }

    private void checkTarget(HotSet next) {
        if (!next.tables().equals(tables)) {
            throw new IllegalArgumentException("target hot set is over different tables: " + next.tables() + " vs " + tables);
        }
    }

    private void checkOpen(MoveChunk chunk) {
        if (!chunkOpen || chunk.basedOn != current.generation()) {
            throw new IllegalStateException("this chunk is not the one in transit (plan it with planChunk first)");
        }
    }

    private void checkTables(PooledBatch[] perTable) {
        if (perTable.length != tables.size()) {
            throw new IllegalArgumentException("batch has " + perTable.length + " tables, the hot set has " + tables.size());
        }
    }

    private void checkRow(int t, long row) {
        if (row < 0 || row >= tables.get(t).rows()) {
            throw new IllegalArgumentException("table " + tables.get(t).name() + ": id " + row
                    + " is outside [0, " + tables.get(t).rows() + ")");
        }
    }

    private static long count(RoaringBitmap[] maps) {
        long n = 0;
        if (maps != null) {
            for (RoaringBitmap b : maps) {
                n += b.getLongCardinality();
            }
        }
        return n;
    }
}
