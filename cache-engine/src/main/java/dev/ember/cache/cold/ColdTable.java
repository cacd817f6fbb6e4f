package dev.ember.cache.cold;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.durability.UndoLog;
import dev.ember.cache.table.RowInit;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.RowUpdate;
import dev.ember.cache.table.TableSpec;
import net.openhft.chronicle.bytes.RandomDataInput;
import net.openhft.chronicle.core.Jvm;
import net.openhft.chronicle.core.UnsafeMemory;
import net.openhft.chronicle.core.values.LongValue;
import net.openhft.chronicle.hash.Data;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ExternalMapQueryContext;
import net.openhft.chronicle.map.MapEntry;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The cold copy of one table: a persisted Chronicle Map from row id to row bytes
 * ({@link RowLayout}: weights, then optimizer state, little-endian fp32). Rows never written are
 * not stored and read as {@link RowInit}.
 *
 * <p>Batched operations only. Row {@code u} of a batch goes to bytes
 * {@code [u*bytesPerRow, (u+1)*bytesPerRow)} of the caller's buffer:
 * <pre>
 *  out:   | row u0: w[0..dim) state | row u1: ... | ...         (uniqueCount x bytesPerRow)
 *  grads: | bag 0: g[0..dim)        | bag 1: ...  | ...         (bags x dim floats, apply)
 * </pre>
 * Work is split into the pool's fixed partitions; each row is touched by exactly one partition,
 * so results never depend on the thread count. Nothing is allocated per row: each partition
 * reuses its key, float and byte scratch, and Chronicle's query contexts are reused per thread.
 * Lookups pass the key as its 8 stored bytes in a {@code Data} of ours ({@link RowKey}): marshalling
 * a {@code LongValue} key cost about 3x the whole lookup, and a key {@code BytesStore} is wrapped
 * and reference-counted by Chronicle at every query. Values are read in place. A row whose place
 * is known is written there, its entry checksum sealed as Chronicle seals it ({@link InPlaceRows});
 * others through {@code doReplaceValue} or an insert from a {@link RowValue}.
 *
 * <p>Before the first in-place change of a row since the last checkpoint, its pre-image (or its
 * absence) is appended to the {@link UndoLog} and forced; a per-checkpoint Roaring bitmap records
 * which rows are logged. Batch operations on one table are serialized (its monitor, uncontended in
 * the usual one-caller use); a store checkpoint holds every table's monitor, so it never sees half
 * a batch. Operations on different tables share the worker pool and so run one after another.
 */
public final class ColdTable implements AutoCloseable {

    static {
        NoCallsOut.ensure();
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new ExceptionInInitializerError("Ember's cold tier needs a little-endian CPU");
        }
    }


    private final TableSpec spec;
    private final int index;
    private final RowLayout layout;
    private final int dim;
    private final int floatsPerRow;
    private final int rowBytes;
    private final long seed;
    private final float scale;
    /** {@link RowInit#columnKeys} of this table: a never-written row's weights hash each column once. */
    private final long[] columnKeys;
    private final File file;
    private final ChronicleMap<LongValue, byte[]> map;
    private final WorkerPool pool;
    /** Set by close; guarded by this (the getters MXBean readers call check it). */
    private volatile boolean closed;
    private long rowsAtClose;
    private final UndoLog undo;
    private final RowSet logged;
    private final ColdCounters counters = new ColdCounters();
    private final Scratch[] scratch;
    private final long[] partitionNew;
    private final long capacity;
    /**
     * Rows in the map, kept by every insert and removal here: the capacity check reads it at each
     * write, where Chronicle's {@code longSize()} visits every segment of the map (thousands, in
     * the largest tables).
     */
    private final java.util.concurrent.atomic.AtomicLong stored = new java.util.concurrent.atomic.AtomicLong();
    /** Rows that prepared puts ({@link #preparePut}) will insert and their writers have not inserted yet: counted against the capacity. */
    private final java.util.concurrent.atomic.AtomicLong pendingInserts = new java.util.concurrent.atomic.AtomicLong();
    /** Off-heap {@code long[rows]}: where row {@code id}'s value lies in the mapping (0: not known yet); 0 when off. */
    private final long positions;
    /** Writes of rows whose place is known, around Chronicle's lookup and lock (needs the position index). */
    private final InPlaceRows inPlace;

    // Per-call arguments of the partition tasks (set before pool.run, read inside).
    private long[] argIds;
    private int[] argIndex;
    private ByteBuffer argBuf;
    private long argAddress;
    private int argOffset;
    private DedupedIds argDeduped;
    private float argLr;
    private float argEps;
    private int[] need = new int[64];
    private ByteBuffer staging = ByteBuffer.allocateDirect(64 * 128).order(ByteOrder.LITTLE_ENDIAN);

    private final WorkerPool.RangeTask gatherTask = this::gatherRange;
    private final WorkerPool.RangeTask applyTask = this::applyRange;
    private final WorkerPool.RangeTask putTask = this::putRange;
    private final WorkerPool.RangeTask preImageTask = this::preImageRange;
    private final WorkerPool.RangeTask presenceTask = this::presenceRange;

    /** Per-partition scratch: everything a partition needs to touch rows without allocating. */
    private static final class Scratch {
        /** The key as the map stores it (8 bytes, little-endian): no key marshalling per lookup. */
        final RowKey key = new RowKey();
        final float[] row;
        final float[] grad;
        /** A row's bytes to write, handed to Chronicle as they are. */
        final RowValue value;

        Scratch(int floatsPerRow, int dim, int rowBytes) {
            row = new float[floatsPerRow];
            grad = new float[dim];
            value = new RowValue(rowBytes);
        }
    }

    /**
     * @param index the table's number in its store (hashed into {@link RowInit})
     * @param undo  null to run without pre-images (benchmarks only: a crash is then unrecoverable)
     * @param positionIndex keep an off-heap index of where each row's value lies in the mapped file
     *                      (8 bytes x rows): gathers of known rows then skip Chronicle's lookup
     */
    public ColdTable(TableSpec spec, int index, long seed, long capacity, File file,
                     ChronicleMap<LongValue, byte[]> map, WorkerPool pool, UndoLog undo, boolean positionIndex) {
        this.spec = spec;
        this.index = index;
        this.layout = spec.layout();
        this.dim = spec.dim();
        this.floatsPerRow = layout.floatsPerRow();
        this.rowBytes = layout.bytesPerRow();
        this.seed = seed;
        this.scale = RowInit.scale(spec.rows());
        this.columnKeys = RowInit.columnKeys(seed, index, dim);
        this.capacity = capacity;
        this.file = file;
        this.map = map;
        this.pool = pool;
        this.undo = undo;
        this.scratch = new Scratch[pool.threads()];
        for (int p = 0; p < scratch.length; p++) {
            scratch[p] = new Scratch(floatsPerRow, dim, rowBytes);
        }
        this.partitionNew = new long[pool.threads()];
        this.inPlace = new InPlaceRows(rowBytes);
        this.logged = new RowSet(spec.rows());
        this.stored.set(map.longSize());
        if (positionIndex) {
            long bytes = Math.multiplyExact(spec.rows(), (long) Long.BYTES);
            this.positions = UnsafeMemory.MEMORY.allocate(bytes);
            // An empty map (a new store's): every row is known to be absent. Else nothing is known yet.
            UnsafeMemory.MEMORY.setMemory(positions, bytes, map.longSize() == 0 ? (byte) 0xFF : (byte) 0);
        } else {
            this.positions = 0;
        }
    }

    public TableSpec spec() {
        return spec;
    }

    public String name() {
        return spec.name();
    }

    public int index() {
        return index;
    }

    public int bytesPerRow() {
        return rowBytes;
    }

    /** Rows in the table (as at closing, once closed: MXBean readers may still ask). */
    public synchronized long rowsStored() {
        return closed ? rowsAtClose : stored.get();
    }

    public long capacity() {
        return capacity;
    }

    /** Rows that can still be stored before inserts are refused. */
    public long headroom() {
        return capacity - rowsStored();
    }

    public File file() {
        return file;
    }

    /** Bytes of the map file (all allocated at creation). */
    public long bytesOnDisk() {
        return file.length();
    }

    /** Bytes of off-heap memory the map has mapped. */
    public synchronized long bytesMapped() {
        return closed ? 0 : map.offHeapMemoryUsed();
    }

    public ColdCounters counters() {
        return counters;
    }

    /** Rows whose pre-image is logged since the last checkpoint. */
    public long rowsLogged() {
        return logged.size();
    }

    /** Copies the full row (weights and state) of each unique id of {@code ids} into {@code out}. */
    public void gather(DedupedIds ids, ByteBuffer out) {
        gather(ids.unique(), ids.uniqueCount(), out);
    }

    /** Copies the full rows of {@code ids[0..count)} into {@code out}, row {@code i} at {@code i*bytesPerRow}. */
    public void gather(long[] ids, int count, ByteBuffer out) {
        gather(ids, count, out, 0);
    }

    /** As {@link #gather(long[], int, ByteBuffer)}, row {@code i} at {@code outOffset + i*bytesPerRow}. */
    public synchronized void gather(long[] ids, int count, ByteBuffer out, int outOffset) {
        checkIds(ids, count);
        checkBuffer(out, outOffset + (long) count * rowBytes, "out");
        argIds = ids;
        argBuf = out;
        argAddress = Jvm.address(out);
        argOffset = outOffset;
        pool.run(count, gatherTask);
        argBuf = null;
        counters.gathers.increment();
        counters.rowsRead.add(count);
    }

    /**
     * Applies per-bag gradients ({@code dim} floats per bag, in {@code grads}) to every unique id of
     * {@code ids} with the table's optimizer: an id's gradient is the sum of its bags' gradients in
     * ascending batch position (see {@link dev.ember.cache.table.Optimizer}).
     *
     * @throws CapacityExceededException before any change when the new rows would not fit
     */
    public synchronized void apply(DedupedIds ids, ByteBuffer grads, float lr, float eps) {
        int n = ids.uniqueCount();
        checkIds(ids.unique(), n);
        int[] occBag = ids.occBag();
        int occurrences = ids.occStart()[n];
        int maxBag = -1;
        for (int i = 0; i < occurrences; i++) {
            maxBag = Math.max(maxBag, occBag[i]);
        }
        checkBuffer(grads, (long) (maxBag + 1) * dim * Float.BYTES, "grads");
        prepareWrite(ids.unique(), n);
        argDeduped = ids;
        argBuf = grads;
        argLr = lr;
        argEps = eps;
        pool.run(n, applyTask);
        argBuf = null;
        argDeduped = null;
        counters.applies.increment();
        counters.rowsWritten.add(n);
    }

    /**
     * Stores full rows (weights and state) from {@code rows} for the distinct ids
     * {@code ids[0..count)}, row {@code i} at {@code i*bytesPerRow}: how the hot tier hands rows back.
     */
    public synchronized void put(long[] ids, int count, ByteBuffer rows) {
        checkIds(ids, count);
        checkBuffer(rows, (long) count * rowBytes, "rows");
        prepareWrite(ids, count);
        argIds = ids;
        argBuf = rows;
        pool.run(count, putTask);
        argBuf = null;
        counters.rowsWritten.add(count);
    }

    /**
     * A put shared by several threads, part one: the capacity check and the pre-images of
     * {@code ids[0..count)}, as {@link #put} makes them, under the table's lock; then threads write
     * disjoint parts of the same ids, each with a {@link Writer} of its own, while the table goes on
     * serving other calls. Returns the rows the parts will insert, counted against the capacity
     * from now until each is inserted (parts that fail leave theirs counted). Why: one table's
     * rows of a step can be most of the step's cold-tier writes, and a put runs on the table's
     * pool only when no other table holds it.
     *
     * @throws CapacityExceededException before any change when the new rows would not fit
     */
    public synchronized long preparePut(long[] ids, int count) {
        if (closed) {
            throw new IllegalStateException("table " + spec.name() + " is closed");
        }
        checkIds(ids, count);
        long newRows = prepareWrite(ids, count);
        pendingInserts.addAndGet(newRows);
        return newRows;
    }

    /** Rows prepared to be inserted ({@link #preparePut}) and not yet put: 0 whenever every prepared write has landed. */
    public long pendingInserts() {
        return pendingInserts.get();
    }

    /** A writer of parts of {@link #preparePut}-prepared rows, for one thread at a time; see there. */
    public Writer newWriter() {
        return new Writer();
    }

    /** See {@link #preparePut}. Confined to one thread at a time. */
    public final class Writer {
        private final RowKey key = new RowKey();
        private final RowValue value = new RowValue(rowBytes);

        private Writer() {
        }

        /**
         * Stores rows {@code ids[from..to)} from {@code rows} (row {@code i} at {@code i*bytesPerRow}),
         * every one of them prepared by a {@link #preparePut} and written by no other part.
         */
        public void put(long[] ids, int from, int to, ByteBuffer rows) {
            put(ids, from, to, rows, 0);
        }

        /** As {@link #put(long[], int, int, ByteBuffer)}, row {@code i} at {@code rowsOffset + i*bytesPerRow}. */
        public void put(long[] ids, int from, int to, ByteBuffer rows, int rowsOffset) {
            checkBuffer(rows, rowsOffset + (long) to * rowBytes, "rows");
            if (closed) {
                throw new IllegalStateException("table " + spec.name() + " is closed");
            }
            long rowsAddress = rows.isDirect() ? Jvm.address(rows) : 0;
            int inserted = 0;
            int inPlaceRows = 0;
            try {
                for (int u = from; u < to; u++) {
                    int how = putRow(key, value, ids[u], rows, rowsAddress, rowsOffset + u * rowBytes);
                    inserted += how == INSERTED ? 1 : 0;
                    inPlaceRows += how == IN_PLACE ? 1 : 0;
                }
            } finally {
                // Counted once a part (the parts' threads share these): until now each inserted row
                // was still pending, and a capacity check meanwhile erred on the safe side.
                counted(inserted, inPlaceRows);
                pendingInserts.addAndGet(-inserted);
            }
            counters.rowsWritten.add(to - from);
        }

        /** Frees the key's native bytes; the writer is unusable afterwards. */
        public void release() {
            key.release();
        }
    }

    /**
     * Capacity check, then pre-images of rows not yet logged since the checkpoint, forced to disk.
     * Throws before any change.
     */
    private long prepareWrite(long[] ids, int n) {
        argIds = ids;
        java.util.Arrays.fill(partitionNew, 0);
        int m = 0;
        int recBytes = UndoLog.recordBytes(rowBytes);
        if (undo != null) {
            if (need.length < n) {
                need = new int[Math.max(n, need.length * 2)];
            }
            for (int i = 0; i < n; i++) {
                if (!logged.contains(ids[i])) {
                    need[m++] = i;
                }
            }
            long bytes = (long) m * recBytes;
            if (staging.capacity() < bytes) {
                staging = ByteBuffer.allocateDirect((int) Math.min(Integer.MAX_VALUE, Math.max(bytes, 2L * staging.capacity())))
                        .order(ByteOrder.LITTLE_ENDIAN);
            }
            argIndex = need;
            pool.run(m, preImageTask);
        } else {
            pool.run(n, presenceTask);
        }
        long newRows = 0;
        for (long c : partitionNew) {
            newRows += c;
        }
        long taken = stored.get() + pendingInserts.get();
        if (taken + newRows > capacity) {
            throw new CapacityExceededException(spec.name(), taken, newRows, capacity);
        }
        if (undo != null && m > 0) {
            try {
                undo.append(staging, m * recBytes);
            } catch (IOException e) {
                throw new UncheckedIOException("table " + spec.name() + ": writing pre-images to " + undo.file()
                        + " failed (" + e.getMessage() + "; " + (long) m * recBytes + " bytes needed, "
                        + SpaceText.usable(undo.file()) + "); no row was changed", e);
            }
            for (int i = 0; i < m; i++) {
                logged.add(ids[need[i]]);
            }
            counters.preImagesLogged.add(m);
        }
        return newRows;
    }

    /** A checkpoint completed: every row's next change needs a new pre-image. */
    public synchronized void checkpointed() {
        logged.clear();
    }

    /** Forces the map file's pages to the device. */
    public void force() throws IOException {
        MapFiles.force(file);
    }

    /** Sets a row back to its checkpoint value during rollback (never logged: the log is being undone). */
    public synchronized void restore(long row, boolean present, ByteBuffer bytes) {
        forget(row);
        Scratch s = scratch[0];
        try (ExternalMapQueryContext<LongValue, byte[], ?> c = map.queryContext(s.key.of(row))) {
            c.updateLock().lock();
            MapEntry<LongValue, byte[]> e = c.entry();
            if (!present) {
                if (e != null) {
                    e.doRemove();
                    stored.decrementAndGet();
                }
                return;
            }
            if (bytes.remaining() != rowBytes) {
                throw new IllegalStateException("table " + spec.name() + ": undo record of row " + row + " has "
                        + bytes.remaining() + " bytes, rows have " + rowBytes);
            }
            bytes.duplicate().get(s.value.array());
            Data<byte[]> v = s.value;
            if (e != null) {
                e.doReplaceValue(v);
            } else {
                c.absentEntry().doInsert(v);
                stored.incrementAndGet();
            }
        }
    }

    /*
     * The position index. Entries of fixed size never move while the map is open: a replace of the
     * same size writes in place and inserts never relocate other entries; only a removal (rollback,
     * before any batch) frees one, and it forgets the row first. Reading or writing through a known
     * position skips Chronicle's segment lock: safe because every writer of this table is in this process
     * and batch operations on a table never overlap, and a {@link Reader} never reads a row being
     * written (its contract). A position is an 8-byte aligned word: a reader sees it whole. It is
     * an address (> 0), 0 (not known: Chronicle's lookup tells) or {@link #ABSENT}: every row of a
     * table opened empty starts absent (a new store's first reads of a row, which are most of a
     * large table's, need no lookup), and only an insert, which remembers the row's place, or a
     * removal, which forgets it, changes that.
     */

    /** A position index entry: the row is not in the map. */
    private static final long ABSENT = -1L;

    private long positionOf(long id) {
        return positions == 0 ? 0 : UnsafeMemory.MEMORY.readLong(positions + id * Long.BYTES);
    }

    private void remember(long id, Data<byte[]> v) {
        if (positions != 0) {
            RandomDataInput in = v.bytes();
            // A value outside direct memory (never, for a mapped file) is left to Chronicle's lookup.
            UnsafeMemory.MEMORY.writeLong(positions + id * Long.BYTES, in.isDirectMemory() ? in.addressForRead(v.offset()) : 0L);
        }
    }

    /** After an insert: the row's place, so that it is no longer {@link #ABSENT}. */
    private void rememberInserted(long id, ExternalMapQueryContext<LongValue, byte[], ?> c) {
        if (positions != 0) {
            MapEntry<LongValue, byte[]> e = c.entry();
            if (e != null) {
                remember(id, e.value());
            } else {
                forget(id);
            }
        }
    }

    private void forget(long id) {
        if (positions != 0) {
            UnsafeMemory.MEMORY.writeLong(positions + id * Long.BYTES, 0L);
        }
    }

    /**
     * Copies a stored row to {@code dst[at..at+rowBytes)}: one memory copy from the mapped entry
     * (bounds of {@code dst} were checked for the whole batch), or int by int if Chronicle ever
     * hands out a value that is not in direct memory.
     */
    private void copyValue(Data<byte[]> v, ByteBuffer dst, long dstAddress, int at) {
        RandomDataInput in = v.bytes();
        long off = v.offset();
        if (in.isDirectMemory()) {
            UnsafeMemory.copyMemory(in.addressForRead(off), dstAddress + at, rowBytes);
            return;
        }
        for (int b = 0; b < rowBytes; b += 4) {
            dst.putInt(at + b, in.readInt(off + b));
        }
    }

    private void gatherRange(int partition, int from, int to) {
        Scratch s = scratch[partition];
        long[] ids = argIds;
        for (int u = from; u < to; u++) {
            readRow(s.key, ids[u], argBuf, argAddress, argOffset + u * rowBytes);
        }
    }

    /**
     * Row {@code id} into {@code out[base..base+rowBytes)}: from its known place, else through
     * Chronicle's lookup (its place then remembered: entries never move while the map is open),
     * else, absent, its initial value.
     */
    private void readRow(RowKey key, long id, ByteBuffer out, long outAddress, int base) {
        long at = positionOf(id);
        if (at > 0) {
            UnsafeMemory.copyMemory(at, outAddress + base, rowBytes);
            return;
        }
        if (at == 0) {
            long gap = NO_GAP;
            boolean found;
            try (ExternalMapQueryContext<LongValue, byte[], ?> c = map.queryContext(key.of(id))) {
                MapEntry<LongValue, byte[]> e = c.entry();
                found = e != null;
                if (found) {
                    copyValue(e.value(), out, outAddress, base);
                    remember(id, e.value());
                    gap = gapToLearn(c);
                }
            }
            if (found) {
                learnInPlace(id, gap);
                return;
            }
        }
        initialRow(id, out, base);
    }

    /** Writes row {@code id}'s initial value (never stored yet) at {@code out[base..base+rowBytes)}. */
    private void initialRow(long id, ByteBuffer out, int base) {
        long rowKey = RowInit.rowKey(id);
        for (int c = 0; c < dim; c++) {
            out.putFloat(base + 4 * c, RowInit.weight(columnKeys[c], rowKey, scale));
        }
        for (int c = dim; c < floatsPerRow; c++) {
            out.putFloat(base + 4 * c, 0.0f);
        }
    }

    private void applyRange(int partition, int from, int to) {
        Scratch s = scratch[partition];
        DedupedIds d = argDeduped;
        long[] ids = d.unique();
        int[] occStart = d.occStart();
        int[] occBag = d.occBag();
        ByteBuffer grads = argBuf;
        float[] g = s.grad;
        float[] row = s.row;
        int inPlaceRows = 0;
        int inserted = 0;
        try {
            for (int u = from; u < to; u++) {
                java.util.Arrays.fill(g, 0.0f);
                for (int o = occStart[u], end = occStart[u + 1]; o < end; o++) {
                    int base = occBag[o] * dim * 4;
                    for (int c = 0; c < dim; c++) {
                        g[c] = g[c] + grads.getFloat(base + 4 * c);
                    }
                }
                long id = ids[u];
                long valueAt = positionOf(id);
                if (valueAt > 0 && inPlace.on()) {
                    for (int k = 0; k < floatsPerRow; k++) {
                        row[k] = UnsafeMemory.MEMORY.readFloat(valueAt + 4L * k);
                    }
                    RowUpdate.apply(layout, row, g, argLr, argEps);
                    for (int k = 0; k < floatsPerRow; k++) {
                        UnsafeMemory.MEMORY.writeFloat(valueAt + 4L * k, row[k]);
                    }
                    inPlace.seal(id, valueAt);
                    inPlaceRows++;
                    continue;
                }
                long gap;
                try (ExternalMapQueryContext<LongValue, byte[], ?> c = map.queryContext(s.key.of(id))) {
                    c.updateLock().lock();
                    MapEntry<LongValue, byte[]> e = c.entry();
                    if (e != null) {
                        Data<byte[]> v = e.value();
                        RandomDataInput in = v.bytes();
                        long off = v.offset();
                        for (int k = 0; k < floatsPerRow; k++) {
                            row[k] = in.readFloat(off + 4L * k);
                        }
                    } else {
                        RowInit.fill(seed, index, id, layout, scale, row, 0);
                    }
                    RowUpdate.apply(layout, row, g, argLr, argEps);
                    for (int k = 0; k < floatsPerRow; k++) {
                        putFloat(s.value.array(), 4 * k, row[k]);
                    }
                    Data<byte[]> nv = s.value;
                    if (e != null) {
                        e.doReplaceValue(nv);
                        remember(id, e.value());
                    } else {
                        c.absentEntry().doInsert(nv);
                        rememberInserted(id, c);
                        inserted++;
                    }
                    gap = gapToLearn(c);
                }
                learnInPlace(id, gap);
            }
        } finally {
            counted(inserted, inPlaceRows);
        }
    }

    private static void putFloat(byte[] b, int off, float v) {
        int bits = Float.floatToRawIntBits(v);
        b[off] = (byte) bits;
        b[off + 1] = (byte) (bits >>> 8);
        b[off + 2] = (byte) (bits >>> 16);
        b[off + 3] = (byte) (bits >>> 24);
    }

    private void putRange(int partition, int from, int to) {
        Scratch s = scratch[partition];
        long[] ids = argIds;
        ByteBuffer rows = argBuf;
        long rowsAddress = rows.isDirect() ? Jvm.address(rows) : 0;
        int inserted = 0;
        int inPlaceRows = 0;
        try {
            for (int u = from; u < to; u++) {
                int how = putRow(s.key, s.value, ids[u], rows, rowsAddress, u * rowBytes);
                inserted += how == INSERTED ? 1 : 0;
                inPlaceRows += how == IN_PLACE ? 1 : 0;
            }
        } finally {
            counted(inserted, inPlaceRows);
        }
    }

    /** A put's row was written where it lies ({@link #putRow}). */
    private static final int IN_PLACE = 0;
    /** ... replaced through Chronicle. */
    private static final int REPLACED = 1;
    /** ... inserted: it was not in the map. */
    private static final int INSERTED = 2;

    /** Counts a range's inserted rows into {@link #stored} and the counters, once a range (threads share them). */
    private void counted(int inserted, int inPlaceRows) {
        if (inserted > 0) {
            stored.addAndGet(inserted);
            counters.rowsInserted.add(inserted);
        }
        if (inPlaceRows > 0) {
            counters.rowsInPlace.add(inPlaceRows);
        }
    }

    /**
     * Stores row {@code id} from {@code rows[at..at+rowBytes)} (at {@code rowsAddress + at} when
     * {@code rowsAddress} is not 0) in place when its place is known, else through Chronicle with the
     * caller's key and value scratch; returns how ({@link #IN_PLACE}, {@link #REPLACED} or
     * {@link #INSERTED}: the caller counts the insert into {@link #stored}).
     */
    private int putRow(RowKey key, RowValue value, long id, ByteBuffer rows, long rowsAddress, int at) {
        long valueAt = positionOf(id);
        if (valueAt > 0 && rowsAddress != 0 && inPlace.on()) {
            inPlace.write(id, valueAt, rowsAddress + at);
            return IN_PLACE;
        }
        rows.get(at, value.array());
        int how;
        long gap = NO_GAP;
        try (ExternalMapQueryContext<LongValue, byte[], ?> c = map.queryContext(key.of(id))) {
            c.updateLock().lock();
            MapEntry<LongValue, byte[]> e = c.entry();
            if (e != null) {
                e.doReplaceValue(value);
                remember(id, e.value());
                how = REPLACED;
            } else {
                c.absentEntry().doInsert(value);
                rememberInserted(id, c);
                how = INSERTED;
            }
            gap = gapToLearn(c);
        }
        learnInPlace(id, gap);
        return how;
    }

    /** No entry's gap was read: nothing to learn. */
    private static final long NO_GAP = Long.MIN_VALUE;

    /** Inside query context {@code c}: its entry's gap while in-place writes are still to be checked, else {@link #NO_GAP}. */
    private long gapToLearn(ExternalMapQueryContext<LongValue, byte[], ?> c) {
        if (positions == 0 || !inPlace.learning()) {
            return NO_GAP;
        }
        MapEntry<LongValue, byte[]> e = c.entry();
        return e != null ? InPlaceRows.gapOf(e) : NO_GAP;
    }

    /** After the query context of row {@code id} closed (its checksum stored): checks in-place writes against it once. */
    private void learnInPlace(long id, long gap) {
        if (gap != NO_GAP) {
            inPlace.learn(id, positionOf(id), gap);
        }
    }

    /** Writes the pre-image record of each row {@code argIds[argIndex[i]]} at slot {@code i} of the staging buffer. */
    private void preImageRange(int partition, int from, int to) {
        Scratch s = scratch[partition];
        long[] ids = argIds;
        int[] idx = argIndex;
        ByteBuffer buf = staging;
        long stagingAddress = Jvm.address(buf);
        int recBytes = UndoLog.recordBytes(rowBytes);
        long absent = 0;
        for (int i = from; i < to; i++) {
            long id = ids[idx[i]];
            int off = i * recBytes;
            long at = positionOf(id);
            if (at > 0) {
                UnsafeMemory.copyMemory(at, stagingAddress + off + UndoLog.RECORD_HEAD, rowBytes);
                UndoLog.putHead(buf, off, index, id, true, rowBytes);
                UndoLog.seal(buf, off, rowBytes);
                continue;
            }
            boolean present = false;
            int base = off + UndoLog.RECORD_HEAD;
            if (at == 0) {
                try (ExternalMapQueryContext<LongValue, byte[], ?> c = map.queryContext(s.key.of(id))) {
                    MapEntry<LongValue, byte[]> e = c.entry();
                    present = e != null;
                    if (present) {
                        copyValue(e.value(), buf, stagingAddress, base);
                    }
                }
            }
            if (!present) {
                for (int b = 0; b < rowBytes; b += 4) {
                    buf.putInt(base + b, 0);
                }
                absent++;
            }
            UndoLog.putHead(buf, off, index, id, present, rowBytes);
            UndoLog.seal(buf, off, rowBytes);
        }
        partitionNew[partition] = absent;
    }

    private void presenceRange(int partition, int from, int to) {
        Scratch s = scratch[partition];
        long[] ids = argIds;
        long absent = 0;
        for (int u = from; u < to; u++) {
            long at = positionOf(ids[u]);
            if (at != 0) {
                absent += at == ABSENT ? 1 : 0;
                continue;
            }
            try (ExternalMapQueryContext<LongValue, byte[], ?> c = map.queryContext(s.key.of(ids[u]))) {
                if (c.entry() == null) {
                    absent++;
                }
            }
        }
        partitionNew[partition] = absent;
    }

    private void checkIds(long[] ids, int count) {
        long rows = spec.rows();
        for (int i = 0; i < count; i++) {
            long id = ids[i];
            if (id < 0 || id >= rows) {
                throw new IllegalArgumentException("table " + spec.name() + ": id " + id + " is outside [0, " + rows + ")");
            }
        }
    }

    private void checkBuffer(ByteBuffer buf, long needed, String what) {
        if (!buf.isDirect()) {
            throw new IllegalArgumentException("table " + spec.name() + ": " + what + " must be a direct (off-heap) ByteBuffer");
        }
        if (buf.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("table " + spec.name() + ": " + what + " must be little-endian (ByteOrder.LITTLE_ENDIAN)");
        }
        if (buf.capacity() < needed) {
            throw new IllegalArgumentException("table " + spec.name() + ": " + what + " holds " + buf.capacity()
                    + " bytes, the batch needs " + needed);
        }
    }

    /**
     * A reader of this table for one other thread (the tiered store's prefetch and mover): it reads
     * rows while the owning thread gathers, applies and puts <em>other</em> rows, with a key of
     * its own; no worker pool, no shared scratch. A row whose place in the file is known (the
     * position index) is copied from there without Chronicle's lookup or segment lock, so a row
     * written while it is read could be read half old, half new: callers never read a row a write
     * may be changing (the tiered store forwards the rows its batches write back, and its mover
     * discards a read of a promoted row that a batch started writing since its plan).
     */
    public Reader newReader() {
        return new Reader();
    }

    /** See {@link #newReader()}. Confined to one thread at a time. */
    public final class Reader {
        /** The key as the map stores it (8 bytes, little-endian), as the partitions' scratch has it. */
        private final RowKey key = new RowKey();

        private Reader() {
        }

        /** Copies the full rows of {@code ids[0..count)} into {@code out}, row {@code i} at {@code i*bytesPerRow}. */
        public void gather(long[] ids, int count, ByteBuffer out) {
            gather(ids, count, out, 0);
        }

        /** As {@link #gather(long[], int, ByteBuffer)}, row {@code i} at {@code outOffset + i*bytesPerRow}. */
        public void gather(long[] ids, int count, ByteBuffer out, int outOffset) {
            checkIds(ids, count);
            checkBuffer(out, outOffset + (long) count * rowBytes, "out");
            long outAddress = Jvm.address(out);
            if (closed) {
                throw new IllegalStateException("table " + spec.name() + " is closed");
            }
            for (int u = 0; u < count; u++) {
                readRow(key, ids[u], out, outAddress, outOffset + u * rowBytes);
            }
            counters.rowsRead.add(count);
        }
    }

    /** The underlying map, for whole-table copies (grow, digests). */
    public ChronicleMap<LongValue, byte[]> map() {
        return map;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        rowsAtClose = map.longSize();
        closed = true;
        map.close();
        for (Scratch s : scratch) {
            s.key.release();
        }
        if (positions != 0) {
            UnsafeMemory.MEMORY.freeMemory(positions, spec.rows() * Long.BYTES);
        }
    }
}
