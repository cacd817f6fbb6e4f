package dev.ember.cache.hot;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;

import java.nio.ByteBuffer;

/**
 * Rows of one {@link RowLayout} held in accelerator memory ("slots"), shared by every table of
 * that layout. What the tiered store needs and nothing device-specific: the store decides which
 * rows are hot; the tier holds them, pools them into batches and applies their gradients.
 *
 * <p>Rules the caller keeps (DESIGN.md, Rows and owners): rows move ({@link #promote},
 * {@link #demote}) only between steps and only when no in-flight batch uses them; a row is in the
 * tier at most once. Row bytes crossing this interface are the cold tier's format: {@code dim}
 * weights then the optimizer state, little-endian fp32, {@link RowLayout#bytesPerRow()} each,
 * packed in the order of the {@code rows} array.
 *
 * <p>Operations are ordered as issued; {@link #gather} and {@link #apply} may still run on the
 * device when they return ({@link #sync()} waits), while {@link #promote}'s source buffer and
 * {@link #demote}'s output are safe to use when those calls return ({@link #promoteLater} and
 * {@link #readLater} hand theirs back through a {@link MoveMark}).
 *
 * <p>A device error inside {@link #promote}, {@link #demote} or {@link #read} leaves the tier as
 * it was: every row held stays held with its bytes and dirty flag, so a device that still answers
 * can be read out (how a trainer saves the hot rows of a failing device).
 */
public interface HotTier extends AutoCloseable {

    /** The layout every row in this tier has. */
    RowLayout layout();

    /**
     * Registers a table whose rows enter through {@link #promote}; row to slot translation runs
     * on the host. Returns the handle used by every other call.
     */
    int addTable(TableSpec spec);

    /**
     * Registers a table whose rows all live here ({@code device} mode): row {@code r} sits in a
     * fixed slot (identity map), starting at {@link dev.ember.cache.table.RowInit}'s value for
     * {@code (seed, tableNumber, r)}. Needs {@code spec.rows()} free slots in one run.
     */
    int addResidentTable(TableSpec spec, long seed, int tableNumber);

    /** The budget the slots were sized from, in bytes. */
    long budgetBytes();

    /** Device bytes one slot costs (row, state and dirty flag). */
    long bytesPerSlot();

    /** Slots the budget buys. */
    long capacity();

    /** Slots holding rows (resident tables included). */
    long used();

    /**
     * Grows or shrinks the slot pool to {@code budgetBytes}, keeping every row. Shrinking below
     * the rows held is an error (demote first); a budget beyond the device's free memory is an
     * error raised before anything is allocated; on any failure the tier is unchanged.
     */
    void resize(long budgetBytes);

    /** Whether {@code row} of {@code table} is held here. */
    boolean contains(int table, long row);

    /** Rows of {@code table} held here. */
    long rowCount(int table);

    /**
     * A host buffer for {@code rows} packed rows (little-endian) that {@link #promote} reads and
     * {@link #demote}/{@link #read} write fastest: page-locked memory the device copies straight
     * from and to, with no staging copy. Owned by the tier and freed when it closes; the cold tier
     * can gather rows into it. Any other buffer works too, through the tier's own staging.
     */
    ByteBuffer newRowBuffer(int rows);

    /**
     * Writes rows into free slots from {@code src} (packed rows, position 0 onwards). The rows
     * start clean. A row already held, a full pool or a short buffer is an error that leaves the
     * tier unchanged.
     */
    void promote(int table, long[] rows, int count, ByteBuffer src);

    /**
     * Overwrites rows already held (resident rows included) from {@code src} (packed rows,
     * position 0 onwards); they end clean. How a resumed {@code device}-mode run loads its trained
     * rows. A row not held is an error before any write.
     */
    default void write(int table, long[] rows, int count, ByteBuffer src) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot overwrite held rows");
    }

    /**
     * Copies held rows into {@code dst} (packed, position 0 onwards) and tells in {@code dirty}
     * (may be null) which were updated since promotion or the last {@link #clearDirty}. The rows
     * stay held.
     */
    void read(int table, long[] rows, int count, ByteBuffer dst, boolean[] dirty);

    /** As {@link #read}, then frees the rows' slots. Returns how many of them were dirty. */
    int demote(int table, long[] rows, int count, ByteBuffer dst, boolean[] dirty);

    /**
     * As {@link #promote} from one of this tier's {@link #newRowBuffer}s, without waiting for the
     * device: the rows are held (and served, in order with later work) when this returns, and
     * {@code src} must stay unchanged until {@code mark} is waited for. How rows move at a step
     * boundary without waiting for the step the device still runs.
     */
    default void promoteLater(int table, long[] rows, int count, ByteBuffer src, MoveMark mark) {
        promoteLater(oneTable(table, count), rows, count, src, mark);
    }

    /**
     * As {@link #promoteLater(int, long[], int, ByteBuffer, MoveMark)} for rows of several tables
     * at once, row {@code i} of table {@code tables[i]}: one transfer for them all (a step
     * boundary's chunk spans most tables, and a call per table cost the step thread a dozen
     * device calls each). All or nothing: a row already held, named twice or of a resident table
     * is an error that leaves the tier unchanged.
     */
    void promoteLater(int[] tables, long[] rows, int count, ByteBuffer src, MoveMark mark);

    /**
     * As {@link #read}, without waiting for the device: copies held rows into {@code dst} and
     * their dirty flags into {@code dirtyFlags} (one byte a row, non-zero when dirty), both in
     * this tier's {@link #newRowBuffer}s, after the work issued so far. Neither buffer may be
     * touched until {@code mark} is waited for; then they hold the rows and flags. A row not held
     * is an error before anything is issued.
     */
    default void readLater(int table, long[] rows, int count, ByteBuffer dst, ByteBuffer dirtyFlags, MoveMark mark) {
        readLater(oneTable(table, count), rows, count, dst, dirtyFlags, mark);
    }

    /** As {@link #readLater(int, long[], int, ByteBuffer, ByteBuffer, MoveMark)} for rows of several tables at once, row {@code i} of table {@code tables[i]}. */
    void readLater(int[] tables, long[] rows, int count, ByteBuffer dst, ByteBuffer dirtyFlags, MoveMark mark);

    /** {@code table} named {@code count} times (for the one-table forms of the calls above). */
    private static int[] oneTable(int table, int count) {
        int[] t = new int[Math.max(0, count)];
        java.util.Arrays.fill(t, table);
        return t;
    }

    /**
     * Frees the slots of held rows whose bytes the caller keeps elsewhere (their cold copy is
     * current): no copy, nothing on the device, so it never waits. A slot freed is written again
     * only after the work issued before this call. A row not held (or named twice) is an error
     * that leaves the tier unchanged.
     */
    void evict(int table, long[] rows, int count);

    /** A mark for {@link #readLater} and {@link #promoteLater}. */
    MoveMark newMoveMark();

    /** Whether a held row was updated since promotion or its last {@link #clearDirty}. */
    boolean isDirty(int table, long row);

    /** Marks held rows clean (after their bytes were persisted elsewhere). */
    void clearDirty(int table, long[] rows, int count);

    /** A batch buffer for up to {@code maxBags} bags of up to {@code maxIds} ids in total. */
    HotBatch newBatch(int maxBags, int maxIds);

    /**
     * Pools the rows of {@code batch} (every id must be held for {@code table}) into
     * {@code out}: bag {@code b} becomes {@code sum(row[id] for id in bag b)} over the weights,
     * summed in bag order from 0. An empty bag pools to zeros.
     */
    void gather(int table, PooledBatch batch, HotBatch out);

    /**
     * Updates the rows of {@code dedup} (built from the batch whose per-bag gradients
     * {@code grads} holds) with the table's optimizer as {@link dev.ember.cache.table.Optimizer}
     * fixes it, each row's gradient summed over its bags in {@code dedup}'s order. Marks the rows
     * dirty. {@code eps} is ignored by SGD.
     */
    void apply(int table, DedupedIds dedup, HotBatch grads, float lr, float eps);

    /**
     * Multi-table gather, part 1 (any thread; different tables at once): writes {@code table}'s
     * row-to-slot translation of {@code batch} into {@code out}'s staging, its bags at bag
     * positions {@code [bagStart, bagStart + bagSpan)} (bags past its own pool to zeros) and its
     * ids at id positions {@code [idStart, idStart + batch.idCount())}. Nothing runs on the device
     * until {@link #gatherStaged}; the parts staged must not overlap and must leave no gap.
     *
     * <pre>
     *  out's bags:  | table a: bagSpan bags | table b: bagSpan bags | ...  (pooled, gradients)
     *  out's ids:   | table a's ids | table b's ids | ...
     * </pre>
     */
    default void stageGather(int table, PooledBatch batch, HotBatch out, int bagStart, int bagSpan, int idStart) {
        stageGather(table, batch, out, bagStart, bagSpan, idStart, null);
    }

    /** As above; an id the tier does not hold is looked up in {@code staged} (may be null). */
    void stageGather(int table, PooledBatch batch, HotBatch out, int bagStart, int bagSpan, int idStart, StagedRows staged);

    /**
     * As {@link #stageGather}, translating each unique id of {@code dedup} (built from
     * {@code batch}) once rather than each occurrence, and keeping their slots in {@code out} at
     * unique positions {@code [uniqueStart, uniqueStart + dedup.uniqueCount())}, where
     * {@link #stageApplyKept} takes them for this batch's apply (rows in flight never move, so
     * they still hold then). Equal, bit for bit, to {@link #stageGather}.
     */
    void stageGatherUnique(int table, PooledBatch batch, DedupedIds dedup, HotBatch out, int bagStart, int bagSpan,
                           int idStart, int uniqueStart, StagedRows staged);

    /**
     * Multi-table gather, part 2 (the thread that issues work): pools the {@code bags} bags over
     * {@code ids} ids staged by {@link #stageGather} with one launch. Equal, bit for bit, to a
     * {@link #gather} per table.
     */
    void gatherStaged(HotBatch out, int bags, int ids);

    /**
     * Multi-table apply, part 1 (any thread; different tables at once): stages {@code table}'s
     * update of the rows of {@code dedup}, whose bag numbers are offset by {@code bagStart} into
     * {@code grads} (the bags {@link #stageGather} gave the table), its unique rows at positions
     * {@code [uniqueStart, ...)} and their occurrences at {@code [occurrenceStart, ...)}.
     */
    default void stageApply(int table, DedupedIds dedup, HotBatch grads, int bagStart, int uniqueStart, int occurrenceStart) {
        stageApply(table, dedup, grads, bagStart, uniqueStart, occurrenceStart, null);
    }

    /** As above; a row the tier does not hold is looked up in {@code staged} (may be null). */
    void stageApply(int table, DedupedIds dedup, HotBatch grads, int bagStart, int uniqueStart, int occurrenceStart,
                    StagedRows staged);

    /**
     * As {@link #stageApply}, with the slots {@link #stageGatherUnique} kept for the same batch's
     * unique ids at the same {@code uniqueStart}: no row-to-slot lookups.
     */
    void stageApplyKept(int table, DedupedIds dedup, HotBatch grads, int bagStart, int uniqueStart, int occurrenceStart);

    /**
     * Reserves {@code count} consecutive slots that no table row maps to, for rows batches stage
     * for one step (a batch's misses): returns the first. Only while no row of an
     * {@link #addTable} table is held, so the reserved slots lie below every such row and resizing
     * never moves them; they count as used and stay reserved until the tier closes.
     */
    long reserveSlots(long count);

    /**
     * Writes packed rows {@code src[0..count)} into reserved slots {@code firstSlot..+count},
     * in order with the gathers and applies issued so far and after them. Asynchronous: {@code src}
     * (a {@link #newRowBuffer}) must stay unchanged until {@link #awaitReserved}{@code (via)}.
     * {@code via} lends its buffers and its completion.
     */
    void writeReserved(HotBatch via, long firstSlot, int count, ByteBuffer src);

    /** Copies rows between reserved slots on the device, {@code from[i]} to {@code to[i]}, in issue order. */
    void copyReserved(HotBatch via, long[] from, long[] to, int count);

    /**
     * Reads reserved slots {@code firstSlot..+count} into {@code dst} (a {@link #newRowBuffer})
     * after the work issued so far; asynchronous: {@code dst} holds the rows after
     * {@link #awaitReserved}{@code (via)}.
     */
    void readReserved(HotBatch via, long firstSlot, int count, ByteBuffer dst);

    /** Waits (any thread) for {@code via}'s reserved-slot copies issued so far. */
    void awaitReserved(HotBatch via);

    /** Whether {@code via}'s reserved-slot copies issued so far are done, without waiting (the thread that issues work). */
    boolean reservedLanded(HotBatch via);

    /**
     * Multi-table apply, part 2: updates the {@code uniques} rows with {@code occurrences}
     * occurrences staged by {@link #stageApply} with one launch (every table of one pool shares
     * the optimizer). Equal, bit for bit, to an {@link #apply} per table.
     */
    void applyStaged(HotBatch grads, int uniques, int occurrences, float lr, float eps);

    /** Waits for every operation issued so far. */
    void sync();

    @Override
    void close();
}
