package dev.ember.gpu.pool;

import dev.ember.gpu.device.UnsafeMemory;

import static dev.ember.gpu.device.UnsafeMemory.UNSAFE;

/**
 * One table's row-to-slot translation split into {@code S} independent {@link RowSlots} stripes,
 * so that {@code S} threads ({@link MapThreads}) can map a promotion's or demotion's rows at once.
 * Two kinds ({@link RowSlotIndex}). Hashed: {@code S} {@link RowSlotMap}s
 * ({@code stripe = top bits of a second hash of the row}); thread {@code w} walks the call's rows
 * and works only on those of stripe {@code w}, so no two threads ever write one map and nothing is
 * locked. (Lookups shared out by contiguous ranges of rows instead, each thread probing every
 * stripe, then removals by stripe, made a demotion slower on an H100 host, 4.8 ms against 3.2 ms
 * for a 262,144-row demotion into a row buffer: a thread's own stripe stays in its core's cache;
 * docs/runs/2026-11-26-H100-promote2.) Direct: {@code S} {@link DirectRowSlots} views of one int
 * array over the table's rows ({@code stripe = block of 16 rows mod S}, for single operations);
 * the threads take contiguous parts of a call instead, with atomic puts and removals (see
 * {@link #share}).
 *
 * <p>One caller at a time (the pool's thread); between calls only that thread touches the stripes.
 */
final class RowSlotStripes implements AutoCloseable {
    /** What a call does to each row. */
    enum Op { PUT, REMOVE, GET }

    private final RowSlots[] stripes;
    private final int shift;
    /** The direct index's array (0: hashed stripes). */
    private final long directArray;
    private boolean closed;

    // The call, written by the caller before MapThreads publishes it.
    private Op op;
    private long[] rows;
    private int[] slots;
    private byte[] bad;
    private int count;
    private int chunkRows;
    private long slotStack;
    private int fromStack;
    private long firstBump;
    private boolean copies;
    private boolean drains;
    private long buffer;
    private long[] staging;
    private int rowBytes;

    /** {@code count} hashed stripes (a power of two) for a table expected to hold {@code expected} rows. */
    RowSlotStripes(int count, int expected) {
        this(count, expected, RowSlotMap.ROOM);
    }

    /** As above, stripes with at least {@code room} entries per row (see {@link RowSlotMap}). */
    RowSlotStripes(int count, int expected, int room) {
        checkCount(count);
        stripes = new RowSlots[count];
        for (int s = 0; s < count; s++) {
            stripes[s] = new RowSlotMap(Math.max(16, expected / count), room);
        }
        shift = 64 - Integer.numberOfTrailingZeros(count);
        directArray = 0;
    }

    /** {@code count} direct stripes (a power of two) over one array of {@code rows} ints (4 * rows host bytes). */
    static RowSlotStripes direct(int count, long rows) {
        return new RowSlotStripes(count, rows);
    }

    private RowSlotStripes(int count, long rows) {
        checkCount(count);
        if (rows < 0) {
            throw new IllegalArgumentException("a table's rows must be >= 0, got " + rows);
        }
        long bytes = 4 * Math.max(1, rows);
        directArray = UnsafeMemory.allocate(bytes, "a direct row-to-slot index (4 bytes a table row)");
        UNSAFE.setMemory(directArray, bytes, (byte) 0xFF); // every row unmapped (-1)
        stripes = new RowSlots[count];
        for (int s = 0; s < count; s++) {
            stripes[s] = new DirectRowSlots(directArray, rows, s, count);
        }
        shift = 0;
    }

    private static void checkCount(int count) {
        if (Integer.bitCount(count) != 1) {
            throw new IllegalArgumentException("map stripes must be a power of two, got " + count);
        }
    }

    /** Whether this is a direct index (else hashed). */
    boolean direct() {
        return directArray != 0;
    }

    int stripeCount() {
        return stripes.length;
    }

    private int stripe(long row) {
        if (stripes.length == 1) {
            return 0;
        }
        return directArray != 0 ? DirectRowSlots.stripeOf(row, stripes.length) : (int) ((row * 0xC2B2AE3D27D4EB4FL) >>> shift);
    }

    int size() {
        int n = 0;
        for (RowSlots m : stripes) {
            n += m.size();
        }
        return n;
    }

    int get(long row) {
        return stripes[stripe(row)].get(row);
    }

    boolean putIfAbsent(long row, int slot) {
        return stripes[stripe(row)].putIfAbsent(row, slot);
    }

    int remove(long row) {
        return stripes[stripe(row)].remove(row);
    }

    void replace(long row, int slot) {
        stripes[stripe(row)].replace(row, slot);
    }

    void forEach(RowSlots.Visitor visitor) {
        for (RowSlots m : stripes) {
            m.forEach(visitor);
        }
    }

    /**
     * Sets up {@code op} over {@code rows[0, count)} in chunks of {@code chunkRows} (run it with
     * {@link MapThreads#start}). PUT maps row {@code i} to the slot
     * {@code i < fromStack ? the int at slotStack + 4i : firstBump + i - fromStack}; REMOVE and
     * GET put the row's slot in {@code slots[i]}. A row that fails (PUT: mapped already, or twice
     * in the call; REMOVE, GET: not mapped) gets {@code bad[i] = 1} and changes nothing; the
     * others go on.
     */
    void prepare(Op op, long[] rows, int[] slots, byte[] bad, int count, int chunkRows,
                 long slotStack, int fromStack, long firstBump) {
        this.op = op;
        this.rows = rows;
        this.slots = slots;
        this.bad = bad;
        this.count = count;
        this.chunkRows = chunkRows;
        this.slotStack = slotStack;
        this.fromStack = fromStack;
        this.firstBump = firstBump;
        this.copies = false;
    }

    /**
     * Makes the prepared call also copy each chunk's rows ({@code rowBytes} each) from
     * {@code from} (row 0) into {@code to[k % to.length]} (see {@link MapThreads#copyChunk}).
     */
    void copyRows(long from, long[] to, int rowBytes) {
        setCopy(from, to, rowBytes, false);
    }

    /**
     * Makes the prepared call also drain each chunk's rows ({@code rowBytes} each) from
     * {@code from[k % from.length]} into {@code to} (row 0) (see {@link MapThreads#copyChunk}).
     */
    void drainRows(long[] from, long to, int rowBytes) {
        setCopy(to, from, rowBytes, true);
    }

    private void setCopy(long buffer, long[] staging, int rowBytes, boolean drains) {
        this.copies = true;
        this.drains = drains;
        this.buffer = buffer;
        this.staging = staging;
        this.rowBytes = rowBytes;
    }

    boolean copies() {
        return copies;
    }

    /** Copies share {@code w} of {@code step} of chunk {@code k}'s rows between the caller's buffer and its staging. */
    void copy(int w, int step, int k) {
        int from = k * chunkRows;
        int n = Math.min(count, from + chunkRows) - from;
        long a = (long) n * w / step;
        long b = (long) n * (w + 1) / step;
        long outside = buffer + (from + a) * rowBytes;
        long staged = staging[k % staging.length] + a * rowBytes;
        if (drains) {
            UNSAFE.copyMemory(staged, outside, (b - a) * rowBytes);
        } else {
            UNSAFE.copyMemory(outside, staged, (b - a) * rowBytes);
        }
    }

    /** Rows in the prepared call. */
    int count() {
        return count;
    }

    int chunks() {
        return (count + chunkRows - 1) / chunkRows;
    }

    /**
     * Does the rows of chunk {@code k} that are thread {@code w}'s of {@code step} (the threads'
     * share, see {@link #share}; everything when {@code w = 0, step = 1}); returns how many failed.
     * {@code mine} holds at least {@link #chunkRows()} ints.
     */
    int work(int w, int step, int k, int[] mine) {
        return apply(w, step, mine, 0, share(w, step, k, mine));
    }

    /**
     * Collects into {@code mine} the indices of chunk {@code k}'s rows that are thread {@code w}'s
     * of {@code step}; returns how many. Hashed: the rows in stripes {@code w, w + step, ...}, so
     * one thread does every operation on a row. Direct: the {@code w}-th of {@code step}
     * contiguous parts of the chunk (no walk over every row by every thread: with a direct index
     * that walk, not the map, was most of a thread's time, and 8 threads mapped fewer rows a second
     * than one, 97-159 against 271-293 M on the H200 host; docs/BENCHMARKS.md "Promote and demote").
     */
    int share(int w, int step, int k, int[] mine) {
        int from = k * chunkRows;
        int to = Math.min(count, from + chunkRows);
        if (directArray != 0 && step > 1) {
            int a = from + (int) ((long) (to - from) * w / step);
            int b = from + (int) ((long) (to - from) * (w + 1) / step);
            for (int i = a; i < b; i++) {
                mine[i - a] = i;
            }
            return b - a;
        }
        return share(w, step, from, to, mine);
    }

    /**
     * Does the call's op on the rows {@code mine[from, to)} (indices from {@link #share} for
     * thread {@code w} of {@code step}); returns how many failed. Direct parts shared by threads
     * may hold one row twice (a bad call), so there a put and a removal are atomic on the row's
     * int: one of the two wins, the other fails, and the table stays exact.
     */
    int apply(int w, int step, int[] mine, int from, int to) {
        // Shared parts of a direct index: the thread's own view counts its rows (see DirectRowSlots).
        DirectRowSlots shared = directArray != 0 && step > 1 ? (DirectRowSlots) stripes[w] : null;
        int failed = 0;
        for (int j = from; j < to; j++) {
            int i = mine[j];
            long row = rows[i];
            RowSlots m = shared != null ? shared : stripes[stripe(row)];
            int slot;
            switch (op) {
                case PUT:
                    slot = i < fromStack ? UNSAFE.getInt(slotStack + 4L * i) : (int) (firstBump + i - fromStack);
                    if (!(shared != null ? shared.putIfAbsentAtomically(row, slot) : m.putIfAbsent(row, slot))) {
                        bad[i] = 1;
                        failed++;
                    }
                    break;
                case REMOVE:
                    slot = shared != null ? shared.removeAtomically(row) : m.remove(row);
                    if (slot < 0) {
                        bad[i] = 1;
                        failed++;
                    } else {
                        slots[i] = slot;
                    }
                    break;
                default:
                    slot = m.get(row);
                    if (slot < 0) {
                        bad[i] = 1;
                        failed++;
                    } else {
                        slots[i] = slot;
                    }
            }
        }
        return failed;
    }

    /**
     * Collects into {@code mine} the indices in {@code [from, to)} whose rows fall in stripes
     * {@code w, w + step, ...}, without a branch per row (taken one time in eight, it would
     * mispredict often); returns how many.
     */
    private int share(int w, int step, int from, int to, int[] mine) {
        int mask = step - 1;
        int n = 0;
        for (int i = from; i < to; i++) {
            mine[n] = i;
            n += (stripe(rows[i]) & mask) == w ? 1 : 0;
        }
        return n;
    }

    int chunkRows() {
        return chunkRows;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (RowSlots m : stripes) {
            m.close();
        }
        if (directArray != 0) {
            UnsafeMemory.free(directArray);
        }
    }
}
