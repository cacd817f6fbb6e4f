package dev.ember.gpu.pool;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.hot.HotBatch;
import dev.ember.cache.hot.HotTier;
import dev.ember.cache.hot.MoveMark;
import dev.ember.cache.hot.StagedRows;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.RowInit;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.device.DeviceMemoryException;
import dev.ember.gpu.device.Event;
import dev.ember.gpu.device.Kernel;
import dev.ember.gpu.device.KernelSources;
import dev.ember.gpu.device.PinnedBuffer;
import dev.ember.gpu.device.Stream;
import dev.ember.gpu.device.UnsafeMemory;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

import static dev.ember.gpu.device.UnsafeMemory.UNSAFE;

/**
 * The hot tier on a {@link Device}: one pool of slots for every table of one {@link RowLayout},
 * sized from a byte budget that can change while rows are held.
 *
 * <p>Device memory, for {@code capacity} slots (weights apart from state so that a gather reads
 * only weights, in aligned float4 pieces when {@code dim % 4 == 0}):
 * <pre>
 *  weights: | slot 0: dim floats | slot 1: dim floats | ...           4 * dim * capacity bytes
 *  state:   | slot 0: s floats   | slot 1: s floats   | ...           4 * s * capacity (s = 0, 1 or dim)
 *  dirty:   | slot 0: 1 byte     | slot 1: 1 byte     | ...           capacity bytes, set by apply
 * </pre>
 * so one slot costs {@code 4 * (dim + s) + 1} bytes of the budget. Outside the budget:
 * {@value #STAGES} staging chunks of {@value #STAGING_BYTES} bytes each for promotion and
 * demotion, and each batch's buffers ({@link SlotBatch}). On the host, page-locked, sized to the largest move so far:
 * <pre>
 *  move stage: | slots: 4 * stageRows bytes (int) | dirty flags: stageRows bytes |
 * </pre>
 * a move's slot ids leave from it chunk by chunk and demotion's dirty flags land in it.
 *
 * <p>Host side, per table: a {@link RowSlotStripes} (row to slot, off-heap; see {@link RowSlotMap}
 * why the translation runs on the host; {@link MapThreads} map a move's rows on several cores),
 * direct ({@link DirectRowSlots}: 4 bytes a table row) or hashed ({@link RowSlotMap}: 32 bytes a
 * hot row at the default room) as {@link RowSlotIndex} picks, or for resident tables a base slot
 * (identity map). Settings: {@code ember.hot.mapThreads}, {@code ember.hot.mapThreadsMinRows},
 * {@code ember.hot.mapRoom}, {@code ember.hot.rowIndex}. Free slots:
 * a bump pointer {@code next} and an off-heap stack of slots freed below it; a promotion takes
 * the top of the stack, then bumps, so its slots are known before any row is mapped.
 *
 * <p>Streams: gathers and applies run on the device's default stream; promotion and demotion on
 * two transfer streams, chunk k on stream {@code k & 1} through staging chunk {@code k % STAGES}
 * (pinned on the host, plain on the device), so that one chunk's row copy overlaps the other
 * stream's slot copy and kernel (one stream had left the copy engine idle during each chunk's
 * kernel) and the host stages or drains one chunk while the device works on others; writes
 * and dirty-bit changes on stream 0 alone, in order. Events order the streams (transfers wait
 * for compute work and transfers issued before them; the next gather or apply waits for
 * transfers issued before it).
 *
 * <p>One thread uses a pool at a time. Counters are {@link LongAdder}s, bumped here and read
 * elsewhere.
 */
public final class SlotPool implements HotTier {
    static final int STAGING_BYTES = 4 << 20;
    /**
     * Staging chunks of a move: while the host fills or drains one, the device works on up to
     * {@code STAGES - 1} others (with 2, a host that stages a chunk no faster than the copy
     * engine moves one left the engine waiting).
     */
    static final int STAGES = 4;
    /** Default of {@code ember.hot.mapThreadsMinRows} (measured: docs/runs/2026-11-26-H100-promote2). */
    static final int MAP_THREADS_MIN_ROWS = 2048;
    private static final long INT_BASE = UNSAFE.arrayBaseOffset(int[].class);
    private static final int GROUP = 256;
    /** Gather blocks: 128 threads beat 64, 256 and 512 on an H200 (81% of copy bandwidth at dim 64 vs 79%). */
    private static final int GATHER_GROUP = 128;

    private final Device device;
    private final RowLayout layout;
    private final int dim;
    private final int stateFloats;
    private final int rowBytes;
    private final long slotBytes;
    private final Stream compute;
    /** Transfer streams: chunk k of a promotion or demotion runs on {@code transfers[k & 1]}. */
    private final Stream[] transfers = new Stream[2];
    private final Event computeMark;
    private final Event transferMark;
    private final Event forkMark;
    private final Event joinMark;
    private boolean transferPending;

    private DeviceBuffer weights;
    private DeviceBuffer state;
    private DeviceBuffer dirty;
    private long capacity;
    private long budget;

    private long next;
    private long freeStack;
    private long freeStackCapacity;
    private int freeCount;
    private long residentEnd;
    /** Slots reserved by {@link #reserveSlots}: [reservedStart, reservedEnd). */
    private long reservedStart;
    private long reservedEnd;

    private final List<TableEntry> tables = new ArrayList<>();
    private int[] slotScratch = new int[1024];
    private byte[] badScratch = new byte[1024];
    private PinnedBuffer moveStage;
    private int stageRows;
    /** Rows of {@link #moveStage}'s slot area later promotions took since the moves issued were last done. */
    private long laterTop;
    private final List<SlotMark> marks = new ArrayList<>();
    private final MapThreads mapThreads;
    /** Map entries per hot row, at least ({@code ember.hot.mapRoom}). */
    private final int mapRoom;
    /** Which row-to-slot index a table added gets ({@code ember.hot.rowIndex}). */
    private final RowSlotIndex rowIndex;
    private final long[] stagingAddresses = new long[STAGES];
    private final List<PinnedBuffer> rowBuffers = new ArrayList<>();

    // Staging for moves: STAGES chunks, each | rows | slots (int) | flags (byte) | on both sides.
    private final int chunkRows;
    private final PinnedBuffer[] pinned = new PinnedBuffer[STAGES];
    private final DeviceBuffer[] stagedRows = new DeviceBuffer[STAGES];
    private final DeviceBuffer[] stagedSlots = new DeviceBuffer[STAGES];
    private final DeviceBuffer[] stagedFlags = new DeviceBuffer[STAGES];
    private final Event[] chunkDone = new Event[STAGES];
    /**
     * A read's or demote's chunk issued through each staging chunk whose dirty flags (and rows,
     * unless they went into a row buffer) are still to be taken (-1: none); a field, so a move
     * allocates nothing.
     */
    private final int[] stagedChunk = new int[STAGES];

    private final Kernel gatherF4;
    private final Kernel gatherF1;
    private final Kernel applyKernel;
    private final Kernel writeRows;
    private final Kernel readRows;
    private final Kernel setDirty;
    private final Kernel moveSlots;
    private final Kernel initRows;
    private final PinnedBuffer probe;

    private final LongAdder gathers = new LongAdder();
    private final LongAdder idsGathered = new LongAdder();
    private final LongAdder applies = new LongAdder();
    private final LongAdder rowsApplied = new LongAdder();
    private final LongAdder rowsPromoted = new LongAdder();
    private final LongAdder rowsDemoted = new LongAdder();
    private boolean closed;

    private static final class TableEntry {
        final TableSpec spec;
        final RowSlotStripes map;
        final long base;

        TableEntry(TableSpec spec, RowSlotStripes map, long base) {
            this.spec = spec;
            this.map = map;
            this.base = base;
        }

        boolean resident() {
            return map == null;
        }
    }

    /**
     * A pool for rows of {@code layout} on {@code device} with {@code budgetBytes} of slots.
     * A budget beyond the device's free memory is an error before anything is allocated.
     */
    public SlotPool(Device device, RowLayout layout, long budgetBytes) {
        this(device, layout, budgetBytes, mapThreadCount());
    }

    /** As above, with {@code mapThreads} threads (a power of two; 1: the caller alone) mapping rows during moves. */
    public SlotPool(Device device, RowLayout layout, long budgetBytes, int mapThreads) {
        this(device, layout, budgetBytes, mapThreads, mapThreadsMinRows());
    }

    /**
     * As above; moves of fewer than {@code mapThreadsMinRows} rows run on the caller alone
     * without waking the map threads (0: every move wakes them).
     */
    public SlotPool(Device device, RowLayout layout, long budgetBytes, int mapThreads, int mapThreadsMinRows) {
        this(device, layout, budgetBytes, mapThreads, mapThreadsMinRows, RowSlotIndex.fromProperty());
    }

    /** As above; tables added get the row-to-slot index {@code rowIndex} picks. */
    public SlotPool(Device device, RowLayout layout, long budgetBytes, int mapThreads, int mapThreadsMinRows,
                    RowSlotIndex rowIndex) {
        this.rowIndex = java.util.Objects.requireNonNull(rowIndex, "rowIndex");
        if (mapThreads < 1 || Integer.bitCount(mapThreads) != 1 || mapThreads > 64) {
            throw new IllegalArgumentException("map threads must be a power of two in 1..64, got " + mapThreads
                    + " (set ember.hot.mapThreads)");
        }
        if (mapThreadsMinRows < 0) {
            throw new IllegalArgumentException("rows a move needs before it wakes the map threads must be >= 0, got "
                    + mapThreadsMinRows + " (set ember.hot.mapThreadsMinRows)");
        }
        this.mapRoom = mapRoom();
        this.device = device;
        this.layout = layout;
        this.dim = layout.dim();
        this.stateFloats = layout.stateFloats();
        this.rowBytes = layout.bytesPerRow();
        this.slotBytes = rowBytes + 1L;
        long cap = slotsFor(budgetBytes);
        this.chunkRows = Math.max(1, STAGING_BYTES / rowBytes);
        long stagingDevice = (long) STAGES * ((long) chunkRows * rowBytes + 4L * chunkRows + chunkRows);
        checkFits(cap * slotBytes + stagingDevice, budgetBytes, "the hot-tier budget");
        this.compute = device.defaultStream();
        List<AutoCloseable> made = new ArrayList<>();
        try {
            this.transfers[0] = track(made, device.newStream());
            this.transfers[1] = track(made, device.newStream());
            this.computeMark = track(made, device.newEvent());
            this.transferMark = track(made, device.newEvent());
            this.forkMark = track(made, device.newEvent());
            this.joinMark = track(made, device.newEvent());
            for (int h = 0; h < STAGES; h++) {
                pinned[h] = track(made, device.allocatePinned((long) chunkRows * rowBytes + 4L * chunkRows + chunkRows));
                stagedRows[h] = track(made, device.allocate((long) chunkRows * rowBytes));
                stagedSlots[h] = track(made, device.allocate(4L * chunkRows));
                stagedFlags[h] = track(made, device.allocate(chunkRows));
                chunkDone[h] = track(made, device.newEvent());
            }
            this.probe = track(made, device.allocatePinned(16));
            for (int h = 0; h < STAGES; h++) {
                stagingAddresses[h] = pinned[h].address();
            }
            DeviceBuffer[] slots = allocateSlots(cap);
            weights = slots[0];
            state = slots[1];
            dirty = slots[2];
        } catch (RuntimeException e) {
            for (AutoCloseable c : made) {
                closeQuietly(c);
            }
            throw e;
        }
        this.capacity = cap;
        this.budget = budgetBytes;
        this.freeStackCapacity = cap;
        this.freeStack = UnsafeMemory.allocate(4L * cap, "the free-slot stack");
        this.gatherF4 = device.kernel(KernelSources.GATHER_F4);
        this.gatherF1 = device.kernel(KernelSources.GATHER_F1);
        this.applyKernel = device.kernel(applyKernelName(layout.optimizer()));
        this.writeRows = device.kernel(KernelSources.WRITE_ROWS);
        this.readRows = device.kernel(KernelSources.READ_ROWS);
        this.setDirty = device.kernel(KernelSources.SET_DIRTY);
        this.moveSlots = device.kernel(KernelSources.MOVE_SLOTS);
        this.initRows = device.kernel(KernelSources.INIT_ROWS);
        this.mapThreads = new MapThreads(mapThreads, mapThreadsMinRows, "ember-hot-map");
    }

    /**
     * Threads that map rows during moves: {@code -Dember.hot.mapThreads=N} (a power of two), by
     * default the largest power of two up to half the cores, at most 8 (1: the pool's thread alone).
     */
    private static int mapThreadCount() {
        int cores = Runtime.getRuntime().availableProcessors();
        int n = Integer.getInteger("ember.hot.mapThreads", Integer.highestOneBit(Math.max(1, Math.min(8, cores / 2))));
        return n;
    }

    /**
     * Rows a move needs before it wakes the map threads: {@code -Dember.hot.mapThreadsMinRows=N},
     * by default {@value #MAP_THREADS_MIN_ROWS} (smaller moves cost less on the caller alone than
     * the threads' wake-up; see {@link MapThreads}).
     */
    private static int mapThreadsMinRows() {
        return Integer.getInteger("ember.hot.mapThreadsMinRows", MAP_THREADS_MIN_ROWS);
    }

    /**
     * Entries of a table's row-to-slot map per hot row, at least: {@code -Dember.hot.mapRoom=N}, a
     * power of two in 2..64, by default {@value RowSlotMap#ROOM} (see {@link RowSlotMap} why).
     */
    private static int mapRoom() {
        int n = Integer.getInteger("ember.hot.mapRoom", RowSlotMap.ROOM);
        if (n < 2 || n > 64 || Integer.bitCount(n) != 1) {
            throw new IllegalArgumentException("entries per row of a row-to-slot map must be a power of two in 2..64, got "
                    + n + " (set ember.hot.mapRoom)");
        }
        return n;
    }

    private static String applyKernelName(Optimizer o) {
        switch (o) {
            case SGD: return KernelSources.APPLY_SGD;
            case ROWWISE_ADAGRAD: return KernelSources.APPLY_ROWWISE_ADAGRAD;
            case ADAGRAD: return KernelSources.APPLY_ADAGRAD;
            default: throw new AssertionError(o);
        }
    }

    public Device device() {
        return device;
    }

    /** The stream gathers and applies run on (the trainer orders its own work after it). */
    public Stream computeStream() {
        return compute;
    }

    /** Slot weights on the device ({@code capacity x dim} floats), for the trainer's kernels. */
    public DeviceBuffer weights() {
        return weights;
    }

    public long gathers() {
        return gathers.sum();
    }

    public long idsGathered() {
        return idsGathered.sum();
    }

    public long applies() {
        return applies.sum();
    }

    public long rowsApplied() {
        return rowsApplied.sum();
    }

    public long rowsPromoted() {
        return rowsPromoted.sum();
    }

    public long rowsDemoted() {
        return rowsDemoted.sum();
    }

    /** Moves handed to the map threads (smaller ones ran on the caller alone). */
    public long movesOnMapThreads() {
        return mapThreads.handed();
    }

    /** Moves the map threads ran, summed over threads (tests: a small move wakes nobody). */
    long mapThreadRuns() {
        return mapThreads.ran();
    }

    @Override
    public RowLayout layout() {
        return layout;
    }

    @Override
    public int addTable(TableSpec spec) {
        checkLayout(spec);
        if (spec.rows() > RowSlotMap.ROW_LIMIT) {
            throw new IllegalArgumentException("table " + spec.name() + " has " + spec.rows() + " rows; a hot table's rows must be "
                    + "fewer than " + RowSlotMap.ROW_LIMIT + " (the row-to-slot map packs a row id in 32 bits); hash or cap its ids"
                    + " (the vocabulary's cap)");
        }
        RowSlotStripes map = rowIndex.direct(spec.rows(), capacity)
                ? RowSlotStripes.direct(mapThreads.stripes(), spec.rows())
                : new RowSlotStripes(mapThreads.stripes(), 1024, mapRoom);
        tables.add(new TableEntry(spec, map, -1));
        return tables.size() - 1;
    }

    @Override
    public int addResidentTable(TableSpec spec, long seed, int tableNumber) {
        checkLayout(spec);
        if (next + spec.rows() > capacity) {
            throw new IllegalArgumentException("table " + spec.name() + ": resident needs " + spec.rows()
                    + " slots in one run, the pool has " + (capacity - next) + " after slot " + next
                    + " (raise the hot budget to at least " + (next + spec.rows()) * slotBytes + " bytes)");
        }
        long base = next;
        settleTransfers();
        initRows.arg(0, weights).arg(1, state).arg(2, dirty).arg(3, dim).arg(4, stateFloats)
                .arg(5, base).arg(6, 0L).arg(7, spec.rows()).arg(8, seed).arg(9, tableNumber)
                .arg(10, RowInit.scale(spec.rows()));
        initRows.launch(compute, groups(spec.rows() * (dim + stateFloats)), GROUP);
        next += spec.rows();
        residentEnd = next;
        tables.add(new TableEntry(spec, null, base));
        return tables.size() - 1;
    }

    private void checkLayout(TableSpec spec) {
        checkOpen();
        if (!spec.layout().equals(layout)) {
            throw new IllegalArgumentException("table " + spec.name() + " has layout " + spec.layout()
                    + "; this pool holds " + layout + " (one pool per row layout)");
        }
    }

    @Override
    public long budgetBytes() {
        return budget;
    }

    @Override
    public long bytesPerSlot() {
        return slotBytes;
    }

    @Override
    public long capacity() {
        return capacity;
    }

    @Override
    public long used() {
        return next - freeCount;
    }

    @Override
    public boolean contains(int table, long row) {
        TableEntry t = table(table);
        if (t.resident()) {
            return row >= 0 && row < t.spec.rows();
        }
        return t.map.get(row) >= 0;
    }

    /** Tables whose rows are translated by a direct index. */
    public int directIndexes() {
        int n = 0;
        for (TableEntry t : tables) {
            n += !t.resident() && t.map.direct() ? 1 : 0;
        }
        return n;
    }

    /** Whether table {@code table}'s rows are translated by a direct index (else hashed, or resident: no index). */
    public boolean directIndex(int table) {
        TableEntry t = table(table);
        return !t.resident() && t.map.direct();
    }

    @Override
    public long rowCount(int table) {
        TableEntry t = table(table);
        return t.resident() ? t.spec.rows() : t.map.size();
    }

    // ---------------------------------------------------------------- resize

    @Override
    public void resize(long budgetBytes) {
        checkOpen();
        long cap = slotsFor(budgetBytes);
        long held = used();
        if (cap < held) {
            throw new IllegalStateException("cannot shrink the hot pool to " + budgetBytes + " bytes (" + cap
                    + " slots): it holds " + held + " rows; demote " + (held - cap) + " rows first");
        }
        if (cap < residentEnd) {
            throw new IllegalStateException("cannot shrink the hot pool to " + cap + " slots: resident tables use slots 0.."
                    + (residentEnd - 1));
        }
        if (cap == capacity) {
            budget = budgetBytes;
            return;
        }
        checkFits(cap * slotBytes, budgetBytes, "the new hot-tier budget");
        long newStack = UnsafeMemory.allocate(4L * cap, "the free-slot stack");
        DeviceBuffer[] fresh;
        try {
            fresh = allocateSlots(cap);
        } catch (RuntimeException e) {
            UnsafeMemory.free(newStack);
            throw e;
        }
        // Nothing can fail from here on: the pool changes only now.
        settleTransfers();
        if (cap < capacity) {
            compact(cap);
        }
        long keep = Math.min(cap, capacity);
        device.copy(weights, 0, fresh[0], 0, 4L * dim * keep, compute);
        if (stateFloats > 0) {
            device.copy(state, 0, fresh[1], 0, 4L * stateFloats * keep, compute);
        }
        device.copy(dirty, 0, fresh[2], 0, keep, compute);
        compute.synchronize();
        weights.close();
        state.close();
        dirty.close();
        weights = fresh[0];
        state = fresh[1];
        dirty = fresh[2];
        UNSAFE.copyMemory(freeStack, newStack, 4L * Math.min(freeCount, cap));
        UnsafeMemory.free(freeStack);
        freeStack = newStack;
        freeStackCapacity = cap;
        capacity = cap;
        budget = budgetBytes;
    }

    /**
     * Moves every mapped row held in a slot at or above {@code cap} into a free slot below it,
     * then rebuilds the free slots below {@code cap}. Resident slots lie below {@code residentEnd <= cap}.
     */
    private void compact(long cap) {
        device.synchronize();
        BitSet usedBelow = new BitSet((int) cap);
        usedBelow.set(0, (int) residentEnd);
        List<long[]> movers = new ArrayList<>();
        for (int t = 0; t < tables.size(); t++) {
            TableEntry e = tables.get(t);
            if (e.resident()) {
                continue;
            }
            final int table = t;
            e.map.forEach((row, slot) -> {
                if (slot < cap) {
                    usedBelow.set(slot);
                } else {
                    movers.add(new long[] {table, row, slot});
                }
            });
        }
        int target = usedBelow.nextClearBit(0);
        int h = 0;
        int n = 0;
        long from = pinned[h].address() + (long) chunkRows * rowBytes;
        long to = pinned[1 - h].address() + (long) chunkRows * rowBytes;
        for (long[] m : movers) {
            int dst = target;
            usedBelow.set(dst);
            target = usedBelow.nextClearBit(dst + 1);
            tables.get((int) m[0]).map.replace(m[1], dst);
            UNSAFE.putInt(from + 4L * n, (int) m[2]);
            UNSAFE.putInt(to + 4L * n, dst);
            if (++n == chunkRows) {
                moveChunk(n);
                n = 0;
            }
        }
        if (n > 0) {
            moveChunk(n);
        }
        next = usedBelow.length();
        freeCount = 0;
        for (int s = usedBelow.nextClearBit(0); s < next; s = usedBelow.nextClearBit(s + 1)) {
            UNSAFE.putInt(freeStack + 4L * freeCount++, s);
        }
    }

    private void moveChunk(int n) {
        long off = (long) chunkRows * rowBytes;
        device.copyToDevice(pinned[0], off, stagedSlots[0], 0, 4L * n, compute);
        device.copyToDevice(pinned[1], off, stagedSlots[1], 0, 4L * n, compute);
        moveSlots.arg(0, weights).arg(1, state).arg(2, dirty).arg(3, dim).arg(4, stateFloats)
                .arg(5, stagedSlots[0]).arg(6, stagedSlots[1]).arg(7, n);
        moveSlots.launch(compute, groups((long) n * (dim + stateFloats)), GROUP);
        compute.synchronize();
    }

    // ---------------------------------------------------------------- promote, read, demote

    /**
     * A host buffer of {@code rows} rows that promote reads and demote and read write without an
     * extra copy: it is the device's page-locked memory, so the copy engine moves rows straight
     * from and to it. The cold tier can gather rows into it. Freed when the pool closes.
     */
    @Override
    public ByteBuffer newRowBuffer(int rows) {
        checkOpen();
        if (rows <= 0 || (long) rows * rowBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a row buffer holds 1.." + Integer.MAX_VALUE / rowBytes + " rows of "
                    + rowBytes + " bytes, asked " + rows);
        }
        PinnedBuffer p = device.allocatePinned((long) rows * rowBytes);
        rowBuffers.add(p);
        return p.buffer().order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    /** The row buffer {@code b} lies in (from its position 0), or null for any other buffer. */
    private PinnedBuffer rowBufferOf(ByteBuffer b, long bytes) {
        if (!b.isDirect() || rowBuffers.isEmpty()) {
            return null;
        }
        long a = UnsafeMemory.address(b);
        for (PinnedBuffer p : rowBuffers) {
            if (a >= p.address() && a + bytes <= p.address() + p.bytes()) {
                return p;
            }
        }
        return null;
    }

    @Override
    public void promote(int table, long[] rows, int count, ByteBuffer src) {
        promoteRows(table, rows, count, src);
    }

    /**
     * The rows of every table at once, mapped on this thread (a step boundary's chunk: a few
     * hundred rows), then one stream of copies and writes by slot, which know no tables:
     * <pre>
     *  moveStage's slot area (laterSlots): | slot 0 | slot 1 | ... |   free stack's top first, then the bump pointer
     *  src (a row buffer):                 | row 0  | row 1  | ... |   row i of table tableOf[i]
     * </pre>
     */
    @Override
    public void promoteLater(int[] tableOf, long[] rows, int count, ByteBuffer src, MoveMark mark) {
        SlotMark m = mark(mark);
        checkRows(tableOf, rows, count);
        checkBuffer(src, count, "promote", "source");
        if (count == 0) {
            m.event.record(transfers[0]);
            return;
        }
        PinnedBuffer direct = rowBufferOf(src, (long) count * rowBytes);
        if (direct == null) {
            throw new IllegalArgumentException("promoteLater: the source buffer must be one of this pool's row buffers (newRowBuffer)");
        }
        for (int i = 0; i < count; i++) {
            TableEntry t = tables.get(tableOf[i]);
            if (t.resident()) {
                throw new IllegalArgumentException("table " + t.spec.name() + " is resident (device mode): its rows are always held");
            }
        }
        long free = capacity - used();
        if (count > free) {
            throw new IllegalStateException("promoting " + count + " rows into a pool with " + free + " free slots (capacity "
                    + capacity + "); demote rows or raise the hot budget");
        }
        long slotsAt = laterSlots(count);
        long slots = moveStage.address() + slotsAt;
        int fromStack = Math.min(freeCount, count);
        UNSAFE.copyMemory(freeStack + 4L * (freeCount - fromStack), slots, 4L * fromStack);
        for (int i = fromStack; i < count; i++) {
            UNSAFE.putInt(slots + 4L * i, (int) (next + i - fromStack));
        }
        for (int i = 0; i < count; i++) {
            TableEntry t = tables.get(tableOf[i]);
            if (!t.map.putIfAbsent(rows[i], UNSAFE.getInt(slots + 4L * i))) {
                unmap(tableOf, rows, i);
                throw new IllegalArgumentException("table " + t.spec.name() + ": row " + rows[i]
                        + (t.map.get(rows[i]) >= 0 ? " is already hot" : " appears twice in one promote"));
            }
        }
        long srcBase = UnsafeMemory.address(src) - direct.address();
        beginTransfer();
        RuntimeException deviceError = null;
        try {
            Stream s = transfers[0];
            for (int start = 0, k = 0; start < count; start += chunkRows, k++) {
                int h = k % STAGES;
                int n = Math.min(chunkRows, count - start);
                device.copyToDevice(direct, srcBase + (long) start * rowBytes, stagedRows[h], 0, (long) n * rowBytes, s);
                device.copyToDevice(moveStage, slotsAt + 4L * start, stagedSlots[h], 0, 4L * n, s);
                launchWriteRows(s, h, n);
                chunkDone[h].record(s);
            }
        } catch (RuntimeException e) {
            deviceError = e;
        } finally {
            endTransfer();
            m.event.record(transfers[0]);
        }
        if (deviceError != null) {
            unmap(tableOf, rows, count); // the device failed mid-copy: the tier is unchanged (the slots stay free)
            throw deviceError;
        }
        freeCount -= fromStack;
        next += count - fromStack;
        rowsPromoted.add(count);
    }

    /** Writes staging chunk {@code h}'s {@code n} rows into their slots (both staged already), in order on {@code s}. */
    private void launchWriteRows(Stream s, int h, int n) {
        writeRows.arg(0, weights).arg(1, state).arg(2, dirty).arg(3, dim).arg(4, stateFloats)
                .arg(5, stagedSlots[h]).arg(6, stagedRows[h]).arg(7, n);
        writeRows.launch(s, groups((long) n * (dim + stateFloats)), GROUP);
    }

    /** Unmaps the first {@code count} rows of a {@link #promoteLater} that mapped them. */
    private void unmap(int[] tableOf, long[] rows, int count) {
        for (int i = 0; i < count; i++) {
            tables.get(tableOf[i]).map.remove(rows[i]);
        }
    }

    /** A promotion that waits for the device (the caller may refill {@code src} when it returns). */
    private void promoteRows(int table, long[] rows, int count, ByteBuffer src) {
        TableEntry t = table(table);
        if (t.resident()) {
            throw new IllegalArgumentException("table " + t.spec.name() + " is resident (device mode): its rows are always held");
        }
        checkRows(t, rows, count);
        checkBuffer(src, count, "promote", "source");
        long free = capacity - used();
        if (count > free) {
            throw new IllegalStateException("table " + t.spec.name() + ": promoting " + count + " rows into a pool with "
                    + free + " free slots (capacity " + capacity + "); demote rows or raise the hot budget");
        }
        PinnedBuffer direct = rowBufferOf(src, (long) count * rowBytes);
        long directBase = direct == null ? 0 : UnsafeMemory.address(src) - direct.address();
        PinnedBuffer stage = moveStage(count);
        // The slots are known before any row is mapped: the top of the free stack, then the bump
        // pointer. So the copies go out at once and the map threads map rows while they run.
        int fromStack = Math.min(freeCount, count);
        long stackPart = freeStack + 4L * (freeCount - fromStack);
        long firstBump = next;
        byte[] bad = badScratch(count);
        t.map.prepare(RowSlotStripes.Op.PUT, rows, null, bad, count, chunkRows, stackPart, fromStack, firstBump);
        long slots = stage.address();
        ByteBuffer source = src.duplicate();
        // From plain direct memory the map threads also stage the rows, each a share of a chunk.
        boolean threadsStage = direct == null && src.isDirect();
        if (threadsStage) {
            t.map.copyRows(UnsafeMemory.address(src), stagingAddresses, rowBytes);
        }
        mapThreads.start(t.map);
        beginTransfer();
        boolean failed;
        RuntimeException deviceError = null;
        try {
            for (int start = 0, k = 0; start < count; start += chunkRows, k++) {
                int h = k % STAGES;
                Stream s = transfers[k & 1];
                int n = Math.min(chunkRows, count - start);
                if (direct != null) {
                    device.copyToDevice(direct, directBase + (long) start * rowBytes, stagedRows[h], 0, (long) n * rowBytes, s);
                } else {
                    chunkDone[h].synchronize();
                    if (threadsStage) {
                        mapThreads.copyChunk(k);
                    } else {
                        pinned[h].buffer().put(0, source, start * rowBytes, n * rowBytes);
                    }
                    device.copyToDevice(pinned[h], 0, stagedRows[h], 0, (long) n * rowBytes, s);
                }
                // Each chunk's slots just before their copy: the first copies go out sooner.
                int stacked = Math.max(0, Math.min(n, fromStack - start));
                UNSAFE.copyMemory(stackPart + 4L * start, slots + 4L * start, 4L * stacked);
                for (int i = start + stacked; i < start + n; i++) {
                    UNSAFE.putInt(slots + 4L * i, (int) (firstBump + i - fromStack));
                }
                device.copyToDevice(stage, 4L * start, stagedSlots[h], 0, 4L * n, s);
                launchWriteRows(s, h, n);
                chunkDone[h].record(s);
            }
        } catch (RuntimeException e) {
            deviceError = e;
        } finally {
            failed = mapThreads.awaitFrom(0);
            endTransfer();
        }
        if (deviceError != null) {
            // The device failed mid-copy: unmap the rows so the tier is unchanged (their slots stay free).
            for (int i = 0; i < count; i++) {
                if (bad[i] != 0) {
                    bad[i] = 0;
                } else {
                    t.map.remove(rows[i]);
                }
            }
            throw deviceError;
        }
        if (failed) {
            // Unmap the rows mapped; the slots written stay free and unreachable: the tier is unchanged.
            transfers[0].synchronize(); // after endTransfer: both streams
            int first = -1;
            for (int i = 0; i < count; i++) {
                if (bad[i] != 0) {
                    bad[i] = 0;
                    first = first < 0 ? i : first;
                } else {
                    t.map.remove(rows[i]);
                }
            }
            boolean held = t.map.get(rows[first]) >= 0;
            throw new IllegalArgumentException("table " + t.spec.name() + ": row " + rows[first]
                    + (held ? " is already hot" : " appears twice in one promote"));
        }
        freeCount -= fromStack;
        next += count - fromStack;
        if (direct != null) {
            // The caller may refill its row buffer when this returns.
            transfers[0].synchronize(); // after endTransfer: both streams
        }
        rowsPromoted.add(count);
    }

    /** Overwrites held rows (resident ones included) from {@code src}; they end clean. */
    @Override
    public void write(int table, long[] rows, int count, ByteBuffer src) {
        TableEntry t = table(table);
        checkRows(t, rows, count);
        checkBuffer(src, count, "write", "source");
        int[] slotOf = scratch(count);
        for (int i = 0; i < count; i++) {
            slotOf[i] = slotOf(t, rows[i]); // every row is checked before anything is written
        }
        ByteBuffer source = src.duplicate();
        beginTransfer();
        for (int start = 0, k = 0; start < count; start += chunkRows, k++) {
            int h = k & 1;
            int n = Math.min(chunkRows, count - start);
            chunkDone[h].synchronize();
            long slots = pinned[h].address() + (long) chunkRows * rowBytes;
            UNSAFE.copyMemory(slotOf, INT_BASE + 4L * start, null, slots, 4L * n);
            pinned[h].buffer().put(0, source, start * rowBytes, n * rowBytes);
            device.copyToDevice(pinned[h], 0, stagedRows[h], 0, (long) n * rowBytes, transfers[0]);
            device.copyToDevice(pinned[h], (long) chunkRows * rowBytes, stagedSlots[h], 0, 4L * n, transfers[0]);
            launchWriteRows(transfers[0], h, n);
            chunkDone[h].record(transfers[0]);
        }
        endTransfer();
    }

    @Override
    public void read(int table, long[] rows, int count, ByteBuffer dst, boolean[] dirtyOut) {
        TableEntry t = table(table);
        checkRows(t, rows, count);
        checkBuffer(dst, count, "read", "destination");
        checkDirtyOut(dirtyOut, count);
        if (t.resident()) {
            int[] slotOf = scratch(count);
            for (int i = 0; i < count; i++) {
                slotOf[i] = slotOf(t, rows[i]);
            }
            readOut(null, rows, slotOf, null, count, dst, dirtyOut, 0);
            return;
        }
        readOut(t, rows, scratch(count), RowSlotStripes.Op.GET, count, dst, dirtyOut, 0);
    }

    @Override
    public int demote(int table, long[] rows, int count, ByteBuffer dst, boolean[] dirtyOut) {
        TableEntry t = table(table);
        if (t.resident()) {
            throw new IllegalArgumentException("table " + t.spec.name() + " is resident (device mode): its rows cannot be demoted");
        }
        checkRows(t, rows, count);
        checkBuffer(dst, count, "demote", "destination");
        checkDirtyOut(dirtyOut, count);
        int[] slotOf = scratch(count);
        // The freed slots go on the free stack (it holds up to capacity slots) chunk by chunk as
        // they are found, above its top until the call succeeds.
        int dirtyRows = readOut(t, rows, slotOf, RowSlotStripes.Op.REMOVE, count, dst, dirtyOut, freeStack + 4L * freeCount);
        freeCount += count;
        rowsDemoted.add(count);
        return dirtyRows;
    }

    /**
     * Copies rows out chunk by chunk, chunks alternating between the two transfer streams: the map
     * threads translate (GET) or unmap (REMOVE) later chunks while the copy engine moves chunk k;
     * chunk k - STAGES is drained from staging (by the map threads, each a share, into direct
     * memory) unless the rows go straight into a row buffer. With {@code op == null} the slots are
     * in {@code slotOf} already; {@code slotsAlsoTo} (0: nowhere) gets a copy of them, chunk by
     * chunk. Once chunk k - STAGES is done its dirty flags are counted (and put in {@code dirtyOut})
     * while later chunks copy: counting them all after the last copy took a pass over every row
     * after the device was done. A row that fails undoes the call (the destination's bytes and
     * {@code dirtyOut} are then unspecified). Returns how many rows were dirty.
     */
    private int readOut(TableEntry t, long[] rows, int[] slotOf, RowSlotStripes.Op op, int count, ByteBuffer dst,
                        boolean[] dirtyOut, long slotsAlsoTo) {
        PinnedBuffer direct = rowBufferOf(dst, (long) count * rowBytes);
        long directBase = direct == null ? 0 : UnsafeMemory.address(dst) - direct.address();
        PinnedBuffer stage = moveStage(count);
        long slots = stage.address();
        long flags = slots + 4L * stageRows;
        byte[] bad = op == null ? null : badScratch(count);
        // Into plain direct memory the map threads also drain the staging, each a share of a chunk.
        boolean threadsDrain = op != null && direct == null && dst.isDirect();
        if (op != null) {
            t.map.prepare(op, rows, slotOf, bad, count, chunkRows, 0, 0, 0);
            if (threadsDrain) {
                t.map.drainRows(stagingAddresses, UnsafeMemory.address(dst), rowBytes);
            }
            mapThreads.start(t.map);
        }
        int[] heldBy = stagedChunk;
        java.util.Arrays.fill(heldBy, -1);
        beginTransfer();
        int chunks = (count + chunkRows - 1) / chunkRows;
        boolean failed = false;
        RuntimeException deviceError = null;
        int k = 0;
        int dirtyRows = 0;
        try {
            for (; k < chunks + STAGES; k++) {
                int h = k % STAGES;
                Stream s = transfers[k & 1];
                if (heldBy[h] >= 0) {
                    chunkDone[h].synchronize();
                    if (direct == null) {
                        if (threadsDrain) {
                            mapThreads.copyChunk(heldBy[h]);
                        } else {
                            drain(heldBy[h], h, count, dst);
                        }
                    }
                    dirtyRows += takeFlags(flags, heldBy[h], count, dirtyOut);
                    heldBy[h] = -1;
                }
                if (k >= chunks) {
                    continue;
                }
                if (op != null && mapThreads.awaitChunk(k)) {
                    failed = true;
                    break;
                }
                int start = k * chunkRows;
                int n = Math.min(chunkRows, count - start);
                UNSAFE.copyMemory(slotOf, INT_BASE + 4L * start, null, slots + 4L * start, 4L * n);
                device.copyToDevice(stage, 4L * start, stagedSlots[h], 0, 4L * n, s);
                readRows.arg(0, weights).arg(1, state).arg(2, dirty).arg(3, dim).arg(4, stateFloats)
                        .arg(5, stagedSlots[h]).arg(6, stagedRows[h]).arg(7, stagedFlags[h]).arg(8, n);
                readRows.launch(s, groups((long) n * (dim + stateFloats)), GROUP);
                if (direct != null) {
                    device.copyToHost(stagedRows[h], 0, direct, directBase + (long) start * rowBytes, (long) n * rowBytes, s);
                } else {
                    device.copyToHost(stagedRows[h], 0, pinned[h], 0, (long) n * rowBytes, s);
                }
                device.copyToHost(stagedFlags[h], 0, stage, 4L * stageRows + start, n, s);
                chunkDone[h].record(s);
                heldBy[h] = k;
                if (slotsAlsoTo != 0) {
                    // Only chunks with no failed row get here: distinct held rows, so the free
                    // stack (capacity slots) has room above its top for all of them.
                    UNSAFE.copyMemory(slotOf, INT_BASE + 4L * start, null, slotsAlsoTo + 4L * start, 4L * n);
                }

            }
        } catch (RuntimeException e) {
            deviceError = e;
        } finally {
            if (op != null) {
                // Also when an error cut the loop short: no thread may touch this call's buffers later.
                failed |= mapThreads.awaitFrom(Math.min(k + 1, chunks));
            }
            endTransfer();
            transfers[0].synchronize(); // after endTransfer: both streams
        }
        if (deviceError != null) {
            // The device failed mid-copy: rows a demote unmapped are mapped again to their slots, so
            // the tier is unchanged and still holds every row with its value (it can be read again).
            for (int i = 0; op != null && i < count; i++) {
                if (bad[i] != 0) {
                    bad[i] = 0;
                } else if (op == RowSlotStripes.Op.REMOVE) {
                    t.map.putIfAbsent(rows[i], slotOf[i]);
                }
            }
            throw deviceError;
        }
        if (failed) {
            int first = -1;
            for (int i = 0; i < count; i++) {
                if (bad[i] != 0) {
                    bad[i] = 0;
                    first = first < 0 ? i : first;
                } else if (op == RowSlotStripes.Op.REMOVE) {
                    t.map.putIfAbsent(rows[i], slotOf[i]);
                }
            }
            throw new IllegalArgumentException("table " + t.spec.name() + ": row " + rows[first] + " is not hot"
                    + (op == RowSlotStripes.Op.REMOVE && appearsTwice(rows, count, rows[first])
                    ? " (it appears twice in one demote)" : ""));
        }
        return dirtyRows;
    }

    /** Counts chunk {@code k}'s dirty flags (landed at {@code flags}, one byte a row) and puts them in {@code dirtyOut} (may be null). */
    private int takeFlags(long flags, int k, int count, boolean[] dirtyOut) {
        int start = k * chunkRows;
        int end = Math.min(count, start + chunkRows);
        int d = 0;
        if (dirtyOut == null) {
            for (int i = start; i < end; i++) {
                d += UNSAFE.getByte(flags + i) != 0 ? 1 : 0;
            }
        } else {
            for (int i = start; i < end; i++) {
                boolean isDirty = UNSAFE.getByte(flags + i) != 0;
                d += isDirty ? 1 : 0;
                dirtyOut[i] = isDirty;
            }
        }
        return d;
    }

    private void drain(int k, int h, int count, ByteBuffer dst) {
        int start = k * chunkRows;
        int n = Math.min(chunkRows, count - start);
        dst.put(start * rowBytes, pinned[h].buffer(), 0, n * rowBytes);
    }

    /**
     * The page-locked area a move reads its slots from and writes its dirty flags to, for at
     * least {@code rows} rows: | slots: 4 * stageRows bytes | flags: stageRows bytes |. Waits for
     * the moves issued before, which may still read it.
     */
    private PinnedBuffer moveStage(int rows) {
        for (Event e : chunkDone) {
            e.synchronize();
        }
        laterTop = 0; // later promotions' slot numbers are read too
        if (moveStage == null || stageRows < rows) {
            int r = (int) Math.min(Integer.MAX_VALUE / 5, Math.max(Math.max(rows, 1024), 2L * stageRows));
            PinnedBuffer fresh = device.allocatePinned(5L * r);
            if (moveStage != null) {
                moveStage.close();
            }
            moveStage = fresh;
            stageRows = r;
        }
        return moveStage;
    }

    /** A reused flag array of at least {@code n} zeros (kept zero between calls). */
    private byte[] badScratch(int n) {
        if (badScratch.length < n) {
            badScratch = new byte[Math.max(n, 2 * badScratch.length)];
        }
        return badScratch;
    }

    /**
     * One stream, in order, so nothing waits on the host. The slot numbers ride at the end of
     * {@code dst} itself (no staging of the pool's, which earlier calls may still use):
     * <pre>
     *  dst:  | row 0 | row 1 | ...                  ... | slot 0 | slot 1 | ... slot count-1 |
     *        0                              count * rowBytes - 4 * count      count * rowBytes
     * </pre>
     * Chunk k's rows land below the slots of chunks k+1 onwards (a row is at least 4 bytes), and
     * those were copied out before, in stream order.
     */
    @Override
    public void readLater(int[] tableOf, long[] rows, int count, ByteBuffer dst, ByteBuffer dirtyFlags, MoveMark mark) {
        SlotMark m = mark(mark);
        checkRows(tableOf, rows, count);
        checkBuffer(dst, count, "readLater", "destination");
        if (count == 0) {
            return;
        }
        PinnedBuffer out = rowBufferOf(dst, (long) count * rowBytes);
        PinnedBuffer flagsOut = dirtyFlags.limit() < count || dirtyFlags.isReadOnly() ? null : rowBufferOf(dirtyFlags, count);
        if (out == null || flagsOut == null) {
            throw new IllegalArgumentException("readLater: " + (out == null ? "the destination" : "the dirty flags' (" + count
                    + " bytes, writable)") + " buffer must be one of this pool's row buffers (newRowBuffer)");
        }
        long outBase = UnsafeMemory.address(dst) - out.address();
        long flagsBase = UnsafeMemory.address(dirtyFlags) - flagsOut.address();
        long slotsAt = outBase + (long) count * rowBytes - 4L * count;
        for (int i = 0; i < count; i++) {
            // every row checked before anything is issued
            UNSAFE.putInt(out.address() + slotsAt + 4L * i, slotOf(tables.get(tableOf[i]), rows[i]));
        }
        beginTransfer();
        try {
            Stream s = transfers[0];
            for (int start = 0, k = 0; start < count; start += chunkRows, k++) {
                int h = k % STAGES;
                int n = Math.min(chunkRows, count - start);
                device.copyToDevice(out, slotsAt + 4L * start, stagedSlots[h], 0, 4L * n, s);
                readRows.arg(0, weights).arg(1, state).arg(2, dirty).arg(3, dim).arg(4, stateFloats)
                        .arg(5, stagedSlots[h]).arg(6, stagedRows[h]).arg(7, stagedFlags[h]).arg(8, n);
                readRows.launch(s, groups((long) n * (dim + stateFloats)), GROUP);
                device.copyToHost(stagedRows[h], 0, out, outBase + (long) start * rowBytes, (long) n * rowBytes, s);
                device.copyToHost(stagedFlags[h], 0, flagsOut, flagsBase + start, n, s);
            }
        } finally {
            endTransfer();
            m.event.record(transfers[0]);
        }
    }

    @Override
    public void evict(int table, long[] rows, int count) {
        TableEntry t = table(table);
        if (t.resident()) {
            throw new IllegalArgumentException("table " + t.spec.name() + " is resident (device mode): its rows cannot be evicted");
        }
        checkRows(t, rows, count);
        checkOpen();
        // The freed slots go above the free stack's top (it holds up to capacity slots) until all are found.
        long top = freeStack + 4L * freeCount;
        for (int i = 0; i < count; i++) {
            int slot = t.map.remove(rows[i]);
            if (slot < 0) {
                for (int j = 0; j < i; j++) {
                    t.map.putIfAbsent(rows[j], UNSAFE.getInt(top + 4L * j));
                }
                throw new IllegalArgumentException("table " + t.spec.name() + ": row " + rows[i] + " is not hot"
                        + (appearsTwice(rows, count, rows[i]) ? " (it appears twice in one evict)" : ""));
            }
            UNSAFE.putInt(top + 4L * i, slot);
        }
        freeCount += count;
        rowsDemoted.add(count);
    }

    @Override
    public MoveMark newMoveMark() {
        checkOpen();
        SlotMark m = new SlotMark(this, device.newEvent());
        marks.add(m);
        return m;
    }

    private SlotMark mark(MoveMark mark) {
        if (!(mark instanceof SlotMark) || ((SlotMark) mark).pool != this) {
            throw new IllegalArgumentException("mark " + mark + " was not made by this pool's newMoveMark");
        }
        return (SlotMark) mark;
    }

    /**
     * Where in {@link #moveStage}'s slot area a later promotion of {@code rows} rows puts its slot
     * numbers: above those of later promotions still in flight, from the bottom again once the
     * transfers issued are done (asked of the device, not waited for). Waits only when the area
     * is full.
     */
    private long laterSlots(int rows) {
        if (laterTop > 0 && transferMark.isDone()) {
            laterTop = 0;
        }
        if (moveStage == null || laterTop + (long) rows > stageRows) {
            moveStage((int) Math.min(Integer.MAX_VALUE / 5, laterTop + rows)); // waits for the moves issued; grows
        }
        long at = 4L * laterTop;
        laterTop += rows;
        return at;
    }

    /** A {@link MoveMark}: an event recorded after the calls given it. */
    private static final class SlotMark implements MoveMark {
        final SlotPool pool;
        final Event event;

        SlotMark(SlotPool pool, Event event) {
            this.pool = pool;
            this.event = event;
        }

        @Override
        public void await() {
            event.synchronize();
        }

        @Override
        public boolean isDone() {
            return event.isDone();
        }
    }

    @Override
    public boolean isDirty(int table, long row) {
        TableEntry t = table(table);
        int slot = slotOf(t, row);
        settleTransfers();
        device.copyToHost(dirty, slot, probe, 0, 1, compute);
        compute.synchronize();
        return UNSAFE.getByte(probe.address()) != 0;
    }

    @Override
    public void clearDirty(int table, long[] rows, int count) {
        TableEntry t = table(table);
        checkRows(t, rows, count);
        beginTransfer();
        for (int start = 0, k = 0; start < count; start += chunkRows, k++) {
            int h = k & 1;
            int n = Math.min(chunkRows, count - start);
            chunkDone[h].synchronize();
            long slots = pinned[h].address() + (long) chunkRows * rowBytes;
            for (int i = 0; i < n; i++) {
                UNSAFE.putInt(slots + 4L * i, slotOf(t, rows[start + i]));
            }
            device.copyToDevice(pinned[h], (long) chunkRows * rowBytes, stagedSlots[h], 0, 4L * n, transfers[0]);
            setDirty.arg(0, dirty).arg(1, stagedSlots[h]).arg(2, n).arg(3, 0);
            setDirty.launch(transfers[0], groups(n), GROUP);
            chunkDone[h].record(transfers[0]);
        }
        endTransfer();
    }

    // ---------------------------------------------------------------- gather, apply

    @Override
    public HotBatch newBatch(int maxBags, int maxIds) {
        checkOpen();
        if (maxBags <= 0 || maxIds <= 0) {
            throw new IllegalArgumentException("a batch needs maxBags > 0 and maxIds > 0, got " + maxBags + ", " + maxIds);
        }
        SlotBatch b = new SlotBatch(this, device, maxBags, maxIds, dim);
        try {
            b.ensureReserved(rowBytes); // at once: a card out of memory says so here, not mid-step
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    @Override
    public void gather(int table, PooledBatch batch, HotBatch out) {
        stageGather(table, batch, out, 0, batch.bagCount(), 0);
        gatherStaged(out, batch.bagCount(), batch.idCount());
    }

    /**
     * Writes into the batch's pinned gather staging (slots at {@code idStart}, bag offsets at
     * {@code bagStart}, shifted by {@code idStart}); tables staged at once write disjoint parts.
     * Reads only the table's map, which nothing changes while a step runs.
     */
    @Override
    public void stageGather(int table, PooledBatch batch, HotBatch out, int bagStart, int bagSpan, int idStart,
                            StagedRows staged) {
        TableEntry t = table(table);
        SlotBatch b = batch(out);
        int bags = batch.bagCount();
        int ids = batch.idCount();
        if (bags > bagSpan || bagStart < 0 || idStart < 0 || (long) bagStart + bagSpan > b.maxBags()
                || (long) idStart + ids > b.maxIds()) {
            throw new IllegalArgumentException("table " + t.spec.name() + ": batch of " + bags + " bags and " + ids
                    + " ids at bag " + bagStart + " (span " + bagSpan + ") and id " + idStart
                    + " exceeds the batch buffer (" + b.maxBags() + " bags, " + b.maxIds() + " ids); make it with newBatch");
        }
        b.awaitGatherStage();
        long slots = b.gatherStage + 4L * idStart;
        long[] idArray = batch.ids();
        for (int i = 0; i < ids; i++) {
            UNSAFE.putInt(slots + 4L * i, slotOfInBag(t, idArray[i], batch, i, staged));
        }
        stageBagOffsets(b, batch, bagStart, bagSpan, idStart);
    }

    @Override
    public void stageGatherUnique(int table, PooledBatch batch, DedupedIds dedup, HotBatch out, int bagStart, int bagSpan,
                                  int idStart, int uniqueStart, StagedRows staged) {
        TableEntry t = table(table);
        SlotBatch b = batch(out);
        int bags = batch.bagCount();
        int ids = batch.idCount();
        int uniques = dedup.uniqueCount();
        if (bags > bagSpan || bagStart < 0 || idStart < 0 || uniqueStart < 0 || (long) bagStart + bagSpan > b.maxBags()
                || (long) idStart + ids > b.maxIds() || (long) uniqueStart + uniques > b.maxIds()) {
            throw new IllegalArgumentException("table " + t.spec.name() + ": batch of " + bags + " bags, " + ids + " ids and "
                    + uniques + " unique ids at bag " + bagStart + " (span " + bagSpan + "), id " + idStart + " and unique id "
                    + uniqueStart + " exceeds the batch buffer (" + b.maxBags() + " bags, " + b.maxIds() + " ids); make it with newBatch");
        }
        if ((uniques == 0 ? 0 : dedup.occStart()[uniques]) != ids) {
            throw new IllegalArgumentException("table " + t.spec.name() + ": the unique ids were not built from this batch ("
                    + ids + " ids, the unique ids' occurrences " + (uniques == 0 ? 0 : dedup.occStart()[uniques]) + ")");
        }
        b.awaitGatherStage();
        b.awaitApplyStage();
        // Kept where this batch's apply stages its rows' slots.
        long kept = b.applyStage + 4L * uniqueStart;
        long[] unique = dedup.unique();
        for (int u = 0; u < uniques; u++) {
            UNSAFE.putInt(kept + 4L * u, staged == null ? slotOf(t, unique[u]) : slotOrStaged(t, unique[u], staged));
        }
        long slots = b.gatherStage + 4L * idStart;
        int[] uniqueOf = dedup.uniqueOf();
        for (int i = 0; i < ids; i++) {
            UNSAFE.putInt(slots + 4L * i, UNSAFE.getInt(kept + 4L * uniqueOf[i]));
        }
        stageBagOffsets(b, batch, bagStart, bagSpan, idStart);
    }

    /** The bags' first id positions of a staged gather, and empty bags after them to {@code bagSpan}. */
    private static void stageBagOffsets(SlotBatch b, PooledBatch batch, int bagStart, int bagSpan, int idStart) {
        int bags = batch.bagCount();
        int ids = batch.idCount();
        long offsets = b.gatherStage + 4L * b.maxIds() + 4L * bagStart;
        int[] local = batch.offsets();
        for (int i = 0; i < bags; i++) {
            UNSAFE.putInt(offsets + 4L * i, idStart + local[i]);
        }
        for (int i = bags; i < bagSpan; i++) {
            UNSAFE.putInt(offsets + 4L * i, idStart + ids); // empty bags pool to zeros
        }
    }

    @Override
    public void gatherStaged(HotBatch out, int bags, int ids) {
        checkOpen();
        SlotBatch b = batch(out);
        if (bags < 0 || ids < 0 || bags > b.maxBags() || ids > b.maxIds()) {
            throw new IllegalArgumentException(bags + " bags and " + ids + " ids staged exceed the batch buffer ("
                    + b.maxBags() + " bags, " + b.maxIds() + " ids)");
        }
        long slots = b.gatherStage;
        long offsets = slots + 4L * b.maxIds();
        UNSAFE.putInt(offsets + 4L * bags, ids);
        settleTransfers();
        b.upload(slots, b.slots, 4L * ids, compute);
        b.upload(offsets, b.offsets, 4L * (bags + 1), compute);
        b.gatherStaged.record(compute);
        b.gatherStageUploading();
        if (bags > 0) {
            boolean wide = (dim & 3) == 0;
            int lanes = Math.min(32, wide ? dim >> 2 : dim);
            Kernel k = wide ? gatherF4 : gatherF1;
            k.arg(0, weights).arg(1, dim).arg(2, b.slots).arg(3, b.offsets).arg(4, bags).arg(5, b.pooled).arg(6, lanes);
            long threads = KernelSources.gatherThreads(bags, lanes);
            k.launch(compute, (int) ((threads + GATHER_GROUP - 1) / GATHER_GROUP), GATHER_GROUP);
        }
        gathers.increment();
        idsGathered.add(ids);
    }

    @Override
    public void apply(int table, DedupedIds dedup, HotBatch grads, float lr, float eps) {
        checkRates(lr, eps);
        stageApply(table, dedup, grads, 0, 0, 0);
        int uniques = dedup.uniqueCount();
        applyStaged(grads, uniques, uniques == 0 ? 0 : dedup.occStart()[uniques], lr, eps);
    }

    /**
     * Writes into the batch's pinned apply staging: the unique rows' slots at
     * {@code uniqueStart}, their occurrence starts shifted by {@code occurrenceStart} and the
     * occurrences' bags shifted by {@code bagStart}; tables staged at once write disjoint parts.
     */
    @Override
    public void stageApply(int table, DedupedIds dedup, HotBatch grads, int bagStart, int uniqueStart, int occurrenceStart,
                           StagedRows staged) {
        stageApplyRows(table, dedup, grads, bagStart, uniqueStart, occurrenceStart, staged, false);
    }

    @Override
    public void stageApplyKept(int table, DedupedIds dedup, HotBatch grads, int bagStart, int uniqueStart, int occurrenceStart) {
        stageApplyRows(table, dedup, grads, bagStart, uniqueStart, occurrenceStart, null, true);
    }

    /** Stages an apply; with {@code kept} the rows' slots are those stageGatherUnique left at uniqueStart. */
    private void stageApplyRows(int table, DedupedIds dedup, HotBatch grads, int bagStart, int uniqueStart, int occurrenceStart,
                                StagedRows staged, boolean kept) {
        TableEntry t = table(table);
        SlotBatch b = batch(grads);
        int uniques = dedup.uniqueCount();
        int[] occStart = dedup.occStart();
        int occ = uniques == 0 ? 0 : occStart[uniques];
        if (bagStart < 0 || uniqueStart < 0 || occurrenceStart < 0 || (long) uniqueStart + uniques > b.maxIds()
                || (long) occurrenceStart + occ > b.maxIds()) {
            throw new IllegalArgumentException("table " + t.spec.name() + ": " + uniques + " rows and " + occ
                    + " ids at row " + uniqueStart + " and id " + occurrenceStart + " exceed the batch buffer's "
                    + b.maxIds() + " ids; make it with newBatch");
        }
        b.awaitApplyStage();
        long uSlots = b.applyStage;
        long starts = uSlots + 4L * b.maxIds();
        long bagsOf = starts + 4L * (b.maxIds() + 1);
        long[] unique = dedup.unique();
        for (int u = 0; u < uniques; u++) {
            if (!kept) {
                UNSAFE.putInt(uSlots + 4L * (uniqueStart + u), staged == null ? slotOf(t, unique[u]) : slotOrStaged(t, unique[u], staged));
            }
            UNSAFE.putInt(starts + 4L * (uniqueStart + u), occurrenceStart + occStart[u]);
        }
        int[] occBag = dedup.occBag();
        int maxBags = b.maxBags();
        for (int k = 0; k < occ; k++) {
            int bag = occBag[k];
            if (bag < 0 || (long) bagStart + bag >= maxBags) {
                throw new IllegalArgumentException("table " + t.spec.name() + ": occurrence in bag " + bag
                        + (bagStart == 0 ? "" : " (+" + bagStart + ")") + " is outside the batch buffer's " + maxBags + " bags");
            }
            UNSAFE.putInt(bagsOf + 4L * (occurrenceStart + k), bagStart + bag);
        }
    }

    @Override
    public void applyStaged(HotBatch grads, int uniques, int occurrences, float lr, float eps) {
        checkOpen();
        SlotBatch b = batch(grads);
        checkRates(lr, eps);
        if (uniques < 0 || occurrences < 0 || uniques > b.maxIds() || occurrences > b.maxIds()) {
            throw new IllegalArgumentException(uniques + " rows and " + occurrences + " ids staged exceed the batch buffer's "
                    + b.maxIds() + " ids");
        }
        long uSlots = b.applyStage;
        long starts = uSlots + 4L * b.maxIds();
        long bagsOf = starts + 4L * (b.maxIds() + 1);
        UNSAFE.putInt(starts + 4L * uniques, occurrences);
        settleTransfers();
        b.upload(uSlots, b.uniqueSlots, 4L * uniques, compute);
        b.upload(starts, b.occStart, 4L * (uniques + 1), compute);
        b.upload(bagsOf, b.occBag, 4L * occurrences, compute);
        b.applyStaged.record(compute);
        b.applyStageUploading();
        if (uniques > 0) {
            Kernel k = applyKernel;
            int i = 0;
            k.arg(i++, weights);
            if (stateFloats > 0) {
                k.arg(i++, state);
            }
            k.arg(i++, dirty).arg(i++, dim).arg(i++, b.uniqueSlots).arg(i++, b.occStart).arg(i++, b.occBag)
                    .arg(i++, uniques).arg(i++, b.gradients).arg(i++, lr);
            if (stateFloats > 0) {
                k.arg(i, eps);
            }
            k.launch(compute, uniques, applyGroup());
        }
        applies.increment();
        rowsApplied.add(uniques);
    }

    // ---------------------------------------------------------------- reserved slots

    @Override
    public long reserveSlots(long count) {
        checkOpen();
        for (TableEntry t : tables) {
            if (!t.resident() && t.map.size() > 0) {
                throw new IllegalStateException("reserve slots before promoting rows: table " + t.spec.name() + " holds "
                        + t.map.size() + " rows");
            }
        }
        if (count < 0) {
            throw new IllegalArgumentException("slots to reserve must be >= 0, got " + count);
        }
        if (reservedEnd > reservedStart && residentEnd == reservedEnd) {
            residentEnd = reservedStart; // a second reservation replaces the first
        }
        // Every slot above the resident ones is free: start the bump pointer over, reserved first.
        next = residentEnd;
        freeCount = 0;
        if (next + count > capacity) {
            throw new IllegalStateException("reserving " + count + " slots needs " + (next + count) + " slots; the pool has "
                    + capacity + " (raise the hot budget)");
        }
        long first = next;
        next += count;
        reservedStart = first;
        residentEnd = next; // below every mapped row: compaction and shrinking leave them where they are
        reservedEnd = next;
        return first;
    }

    @Override
    public void writeReserved(HotBatch via, long firstSlot, int count, ByteBuffer src) {
        SlotBatch b = reservedOp(via, firstSlot, count, src, "writeReserved", "source");
        if (count == 0) {
            return;
        }
        PinnedBuffer from = rowBufferOf(src, (long) count * rowBytes);
        settleTransfers();
        long srcOffset = UnsafeMemory.address(src) - from.address();
        if (stateFloats == 0) {
            // Weights alone: the reserved slots are consecutive rows of the weights, one copy straight
            // in (their dirty flags mean nothing: reserved slots are never demoted or dumped).
            device.copyToDevice(from, srcOffset, weights, firstSlot * rowBytes, (long) count * rowBytes, compute);
            b.reservedDone.record(compute);
            return;
        }
        b.identitySlots(firstSlot, compute);
        device.copyToDevice(from, srcOffset, b.reservedRows, 0, (long) count * rowBytes, compute);
        writeRows.arg(0, weights).arg(1, state).arg(2, dirty).arg(3, dim).arg(4, stateFloats)
                .arg(5, b.reservedSlots).arg(6, b.reservedRows).arg(7, count);
        writeRows.launch(compute, groups((long) count * (dim + stateFloats)), GROUP);
        b.reservedDone.record(compute);
    }

    @Override
    public void copyReserved(HotBatch via, long[] from, long[] to, int count) {
        SlotBatch b = batch(via);
        if (count < 0 || count > b.maxIds() || count > from.length || count > to.length) {
            throw new IllegalArgumentException("copyReserved: " + count + " rows; the arrays hold " + from.length + " and "
                    + to.length + ", the batch buffer " + b.maxIds());
        }
        if (count == 0) {
            return;
        }
        b.copiesStaged.synchronize(); // the last copy's upload of these pinned arrays
        long f = b.reservedStage.address() + 4L * b.maxIds();
        long t = f + 4L * b.maxIds();
        for (int i = 0; i < count; i++) {
            checkReserved(from[i], 1);
            checkReserved(to[i], 1);
            UNSAFE.putInt(f + 4L * i, (int) from[i]);
            UNSAFE.putInt(t + 4L * i, (int) to[i]);
        }
        settleTransfers();
        device.copyToDevice(b.reservedStage, 4L * b.maxIds(), b.reservedFrom, 0, 4L * count, compute);
        device.copyToDevice(b.reservedStage, 8L * b.maxIds(), b.reservedTo, 0, 4L * count, compute);
        b.copiesStaged.record(compute);
        moveSlots.arg(0, weights).arg(1, state).arg(2, dirty).arg(3, dim).arg(4, stateFloats)
                .arg(5, b.reservedFrom).arg(6, b.reservedTo).arg(7, count);
        moveSlots.launch(compute, groups((long) count * (dim + stateFloats)), GROUP);
        b.reservedDone.record(compute);
    }

    @Override
    public void readReserved(HotBatch via, long firstSlot, int count, ByteBuffer dst) {
        SlotBatch b = reservedOp(via, firstSlot, count, dst, "readReserved", "destination");
        if (count == 0) {
            return;
        }
        PinnedBuffer to = rowBufferOf(dst, (long) count * rowBytes);
        settleTransfers();
        long dstOffset = UnsafeMemory.address(dst) - to.address();
        if (stateFloats == 0) {
            device.copyToHost(weights, firstSlot * rowBytes, to, dstOffset, (long) count * rowBytes, compute);
            b.reservedDone.record(compute);
            return;
        }
        b.identitySlots(firstSlot, compute);
        readRows.arg(0, weights).arg(1, state).arg(2, dirty).arg(3, dim).arg(4, stateFloats)
                .arg(5, b.reservedSlots).arg(6, b.reservedRows).arg(7, b.reservedFlags).arg(8, count);
        readRows.launch(compute, groups((long) count * (dim + stateFloats)), GROUP);
        device.copyToHost(b.reservedRows, 0, to, dstOffset, (long) count * rowBytes, compute);
        b.reservedDone.record(compute);
    }

    @Override
    public void awaitReserved(HotBatch via) {
        batch(via).reservedDone.synchronize();
    }

    @Override
    public boolean reservedLanded(HotBatch via) {
        return batch(via).reservedDone.isDone();
    }

    private SlotBatch reservedOp(HotBatch via, long firstSlot, int count, ByteBuffer rows, String op, String what) {
        SlotBatch b = batch(via);
        if (count < 0 || count > b.maxIds()) {
            throw new IllegalArgumentException(op + ": " + count + " rows; the batch buffer holds " + b.maxIds());
        }
        checkReserved(firstSlot, count);
        checkBuffer(rows, count, op, what);
        if (count > 0 && rowBufferOf(rows, (long) count * rowBytes) == null) {
            throw new IllegalArgumentException(op + ": the " + what + " buffer must be one of this pool's row buffers (newRowBuffer)");
        }
        return b;
    }

    private void checkReserved(long firstSlot, long count) {
        if (firstSlot < reservedStart || firstSlot + count > reservedEnd) {
            throw new IllegalArgumentException("slots " + firstSlot + ".." + (firstSlot + count - 1) + " are not all reserved ("
                    + (reservedEnd == reservedStart ? "none is" : reservedStart + ".." + (reservedEnd - 1)) + "; reserveSlots)");
        }
    }

    private void checkRates(float lr, float eps) {
        if (!Float.isFinite(lr)) {
            throw new IllegalArgumentException("learning rate must be finite, got " + lr);
        }
        if (layout.optimizer() != Optimizer.SGD && !(eps > 0 && Float.isFinite(eps))) {
            throw new IllegalArgumentException(layout.optimizer() + " needs a finite eps > 0, got " + eps);
        }
    }

    private int applyGroup() {
        int g = Math.min(128, (dim + 31) & ~31);
        return Math.max(32, g);
    }

    @Override
    public void sync() {
        device.synchronize();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        device.synchronize();
        closed = true;
        for (TableEntry t : tables) {
            if (t.map != null) {
                t.map.close();
            }
        }
        weights.close();
        state.close();
        dirty.close();
        for (int h = 0; h < STAGES; h++) {
            pinned[h].close();
            stagedRows[h].close();
            stagedSlots[h].close();
            stagedFlags[h].close();
            chunkDone[h].close();
        }
        probe.close();
        mapThreads.close();
        if (moveStage != null) {
            moveStage.close();
        }
        for (PinnedBuffer p : rowBuffers) {
            p.close();
        }
        for (SlotMark m : marks) {
            m.event.close();
        }
        computeMark.close();
        transferMark.close();
        forkMark.close();
        joinMark.close();
        transfers[0].close();
        transfers[1].close();
        UnsafeMemory.free(freeStack);
    }

    // ---------------------------------------------------------------- helpers

    /**
     * Transfers start after compute work issued so far (a demoted row may just have been updated)
     * and after every transfer issued before (both streams: stream 1 waits for stream 0's fork mark,
     * which follows stream 0's earlier work, and that includes stream 1's earlier work, joined at
     * each {@link #endTransfer}).
     */
    private void beginTransfer() {
        checkOpen();
        computeMark.record(compute);
        transfers[0].waitFor(computeMark);
        forkMark.record(transfers[0]);
        transfers[1].waitFor(forkMark);
    }

    /** Joins stream 1 into stream 0, whose mark then covers the whole move. */
    private void endTransfer() {
        joinMark.record(transfers[1]);
        transfers[0].waitFor(joinMark);
        transferMark.record(transfers[0]);
        transferPending = true;
    }

    /** Compute work issued from now on starts after the transfers issued so far. */
    private void settleTransfers() {
        if (transferPending) {
            compute.waitFor(transferMark);
            transferPending = false;
        }
    }

    private long slotsFor(long budgetBytes) {
        if (budgetBytes <= 0) {
            throw new IllegalArgumentException("hot budget must be > 0 bytes, got " + budgetBytes);
        }
        // Checked before the slot-count limit: on a large card a budget beyond free memory would
        // otherwise be reported as too many slots (seen on an H200's OpenCL platform).
        long free = device.freeMemory();
        if (budgetBytes > free) {
            throw new DeviceMemoryException("hot budget of " + budgetBytes + " bytes exceeds " + device.name() + "'s "
                    + free + " bytes free of " + device.totalMemory() + " (lower the hot budget)");
        }
        long cap = budgetBytes / slotBytes;
        if (cap < 1) {
            throw new IllegalArgumentException("hot budget of " + budgetBytes + " bytes buys no slot; one slot of "
                    + layout + " costs " + slotBytes + " bytes");
        }
        if (cap > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("hot budget of " + budgetBytes + " bytes gives " + cap + " slots; at most "
                    + Integer.MAX_VALUE + " slots per pool (lower the hot budget)");
        }
        return cap;
    }

    private void checkFits(long deviceBytes, long budgetBytes, String what) {
        long free = device.freeMemory();
        if (deviceBytes > free) {
            throw new DeviceMemoryException(what + " of " + budgetBytes + " bytes needs " + deviceBytes
                    + " bytes of device memory; " + device.name() + " has " + free + " free of " + device.totalMemory()
                    + " (lower the hot budget)");
        }
    }

    private DeviceBuffer[] allocateSlots(long cap) {
        DeviceBuffer[] out = new DeviceBuffer[3];
        try {
            out[0] = device.allocate(4L * dim * cap);
            out[1] = device.allocate(Math.max(4L, 4L * stateFloats * cap));
            out[2] = device.allocate(cap);
            return out;
        } catch (RuntimeException e) {
            for (DeviceBuffer b : out) {
                if (b != null) {
                    b.close();
                }
            }
            throw e;
        }
    }

    /** A reused int array of at least {@code n} entries (grows, never shrinks). */
    private int[] scratch(int n) {
        if (slotScratch.length < n) {
            slotScratch = new int[Math.max(n, 2 * slotScratch.length)];
        }
        return slotScratch;
    }

    /** Whether {@code row} is among {@code rows[0, count)} more than once (threads sharing a call may fail either copy). */
    private static boolean appearsTwice(long[] rows, int count, long row) {
        int seen = 0;
        for (int j = 0; j < count && seen < 2; j++) {
            seen += rows[j] == row ? 1 : 0;
        }
        return seen == 2;
    }

    private TableEntry table(int table) {
        checkOpen();
        if (table < 0 || table >= tables.size()) {
            throw new IllegalArgumentException("no table with handle " + table + " in this pool (" + tables.size() + " tables)");
        }
        return tables.get(table);
    }

    private SlotBatch batch(HotBatch b) {
        if (!(b instanceof SlotBatch) || ((SlotBatch) b).pool != this) {
            throw new IllegalArgumentException("batch " + b + " was not made by this pool's newBatch");
        }
        SlotBatch s = (SlotBatch) b;
        s.checkOpen();
        return s;
    }

    private int slotOf(TableEntry t, long row) {
        if (t.resident()) {
            if (row < 0 || row >= t.spec.rows()) {
                throw new IllegalArgumentException("table " + t.spec.name() + ": row " + row + " is outside [0, " + t.spec.rows() + ")");
            }
            return (int) (t.base + row);
        }
        int slot = t.map.get(row);
        if (slot < 0) {
            throw new IllegalArgumentException("table " + t.spec.name() + ": row " + row + " is not hot");
        }
        return slot;
    }

    private int slotOrStaged(TableEntry t, long row, StagedRows staged) {
        if (t.resident()) {
            return slotOf(t, row);
        }
        int slot = t.map.get(row);
        if (slot >= 0) {
            return slot;
        }
        long s = staged.slotOf(row);
        if (s < 0) {
            return slotOf(t, row); // the error naming the row
        }
        return (int) s;
    }

    private int slotOfInBag(TableEntry t, long row, PooledBatch batch, int position, StagedRows staged) {
        if (t.resident()) {
            if (row >= 0 && row < t.spec.rows()) {
                return (int) (t.base + row);
            }
        } else {
            int slot = t.map.get(row);
            if (slot >= 0) {
                return slot;
            }
            long s = staged == null ? -1 : staged.slotOf(row);
            if (s >= 0) {
                return (int) s;
            }
        }
        throw new IllegalArgumentException("table " + t.spec.name() + ": id " + row + " at position " + position
                + " of the batch is not hot" + (t.resident() ? " (outside [0, " + t.spec.rows() + "))" : ""));
    }

    private void checkRows(TableEntry t, long[] rows, int count) {
        if (count < 0 || count > rows.length) {
            throw new IllegalArgumentException("count must be in 0.." + rows.length + " (the rows array), got " + count);
        }
        for (int i = 0; i < count; i++) {
            if (rows[i] < 0 || rows[i] >= t.spec.rows()) {
                throw new IllegalArgumentException("table " + t.spec.name() + ": row " + rows[i] + " is outside [0, "
                        + t.spec.rows() + ")");
            }
        }
    }

    /** {@code count} rows, row {@code i} of table {@code tableOf[i]}: handles and rows checked. */
    private void checkRows(int[] tableOf, long[] rows, int count) {
        checkOpen();
        if (count < 0 || count > rows.length || count > tableOf.length) {
            throw new IllegalArgumentException("count must be in 0.." + Math.min(rows.length, tableOf.length)
                    + " (the rows and tables arrays), got " + count);
        }
        for (int i = 0; i < count; i++) {
            TableEntry t = table(tableOf[i]);
            if (rows[i] < 0 || rows[i] >= t.spec.rows()) {
                throw new IllegalArgumentException("table " + t.spec.name() + ": row " + rows[i] + " is outside [0, "
                        + t.spec.rows() + ")");
            }
        }
    }

    private void checkBuffer(ByteBuffer b, int count, String op, String what) {
        long need = (long) count * rowBytes;
        if (b.limit() < need) {
            throw new IllegalArgumentException(op + ": " + count + " rows of " + rowBytes + " bytes need " + need
                    + " bytes; the " + what + " buffer's limit is " + b.limit());
        }
        if (b.isReadOnly() && !"promote".equals(op) && !"write".equals(op)) {
            throw new IllegalArgumentException(op + ": the " + what + " buffer is read-only");
        }
    }

    private static void checkDirtyOut(boolean[] dirtyOut, int count) {
        if (dirtyOut != null && dirtyOut.length < count) {
            throw new IllegalArgumentException("dirty flags array holds " + dirtyOut.length + " flags, " + count + " needed");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("hot pool used after close");
        }
    }

    private static int groups(long threads) {
        long g = (threads + GROUP - 1) / GROUP;
        if (g > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("launch of " + threads + " threads is too large");
        }
        return (int) g;
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> made, T c) {
        made.add(c);
        return c;
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // Cleaning up after a failed construction; the original error is what matters.
        }
    }
}
