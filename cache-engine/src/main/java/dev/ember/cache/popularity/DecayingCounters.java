package dev.ember.cache.popularity;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.TableSpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
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
 * the counts stand still: while frozen, steps and accesses are appended to an off-heap log, and
 * {@link #thaw()} replays the log in order, so the counts end bit for bit as if never frozen.
 *
 * <pre>
 *  per table t:  stored: off-heap double[rows_t]   (0 = never touched since the last drop)
 *                touched: RoaringBitmap of rows with stored != 0
 *  log (frozen): | long | long | ...   access: (table << 32) | row;  step: MIN_VALUE | step
 * </pre>
 * Memory: 8 bytes per row of every table (Criteo Kaggle, 33.8M rows: 270 MB), off-heap.
 */
public final class DecayingCounters implements RowScores {
    private static final int BLOB_MAGIC = 0x45444331; // "EDC1"
    private static final double RENORM_LOG2 = 256;
    private static final double DROP_BELOW = 1e-12;
    private static final long STEP_MARK = Long.MIN_VALUE;

    private final List<TableSpec> tables;
    private final double decay;
    private final double log2Growth;
    private final OffHeapDoubles[] stored;
    private final RoaringBitmap[] touched;
    private final double[] totals;
    private long base;
    private long step;
    private double weight = 1.0;
    private boolean frozen;
    private ByteBuffer log = ByteBuffer.allocateDirect(1 << 16);
    private final LongAdder recorded = new LongAdder();

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
        totals = new double[n];
        for (int t = 0; t < n; t++) {
            long rows = this.tables.get(t).rows();
            if (rows > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("table " + this.tables.get(t).name() + " has " + rows
                        + " rows; counters hold at most " + Integer.MAX_VALUE + " rows per table: split it");
            }
            stored[t] = new OffHeapDoubles(rows);
            touched[t] = new RoaringBitmap();
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

    public boolean frozen() {
        return frozen;
    }

    /** Moves the clock to {@code step} (never backwards); later accesses count as at that step. */
    public void advanceTo(long newStep) {
        if (newStep < step) {
            throw new IllegalArgumentException("step " + newStep + " is before the counters' step " + step);
        }
        if (frozen) {
            append(STEP_MARK | newStep);
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
        for (int i = 0; i < n; i++) {
            recordUncounted(table, ids[i]);
        }
        recorded.add(n);
    }

    private void recordUncounted(int table, long row) {
        if (frozen) {
            append(((long) table << 32) | row);
            return;
        }
        add(table, (int) row);
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

    /** Counts stand still until {@link #thaw()}; accesses and steps meanwhile go to the log. */
    public void freeze() {
        if (frozen) {
            throw new IllegalStateException("counters already frozen");
        }
        frozen = true;
        log.clear();
    }

    /** Replays what was logged while frozen, in order. */
    public void thaw() {
        if (!frozen) {
            throw new IllegalStateException("counters are not frozen");
        }
        frozen = false;
        int end = log.position();
        for (int p = 0; p < end; p += Long.BYTES) {
            long e = log.getLong(p);
            if (e < 0) {
                applyStep(e & Long.MAX_VALUE);
            } else {
                add((int) (e >>> 32), (int) e);
            }
        }
        log.clear();
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
        PeekableIntIterator it = touched[table].getIntIterator();
        while (it.hasNext()) {
            int row = it.next();
            consumer.accept(row, values.get(row) * inv);
        }
    }

    @Override
    public long scoredRows(int table) {
        return touched[table].getLongCardinality();
    }

    private void add(int table, int row) {
        OffHeapDoubles values = stored[table];
        double old = values.get(row);
        if (old == 0.0) {
            touched[table].add(row);
        }
        values.set(row, old + weight);
        totals[table] += weight;
    }

    private void applyStep(long newStep) {
        step = newStep;
        double exponent = (newStep - base) * log2Growth;
        if (exponent > RENORM_LOG2) {
            renormalise();
        }
        weight = StrictMath.pow(decay, -(double) (step - base));
    }

    /** Rescales every touched row to base = step, dropping rows decayed below DROP_BELOW. */
    private void renormalise() {
        double scale = StrictMath.pow(decay, (double) (step - base));
        for (int t = 0; t < stored.length; t++) {
            OffHeapDoubles values = stored[t];
            RoaringBitmap dropped = new RoaringBitmap();
            double total = 0;
            PeekableIntIterator it = touched[t].getIntIterator();
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
        base = step;
    }

    private void append(long entry) {
        if (log.remaining() < Long.BYTES) {
            ByteBuffer bigger = ByteBuffer.allocateDirect(log.capacity() * 2);
            log.flip();
            bigger.put(log);
            log = bigger;
        }
        log.putLong(entry);
    }

    /** Checkpoint form: decay, clock, then per table the touched rows and their stored values. */
    public byte[] toBytes() {
        if (frozen) {
            throw new IllegalStateException("checkpoint of frozen counters: checkpoint the knob schedule first (that completes its evaluation and thaws them)");
        }
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeInt(BLOB_MAGIC);
            out.writeDouble(decay);
            out.writeLong(base);
            out.writeLong(step);
            out.writeInt(tables.size());
            for (int t = 0; t < tables.size(); t++) {
                out.writeUTF(tables.get(t).name());
                out.writeLong(tables.get(t).rows());
                out.writeDouble(totals[t]);
                touched[t].serialize(out);
                PeekableIntIterator it = touched[t].getIntIterator();
                while (it.hasNext()) {
                    out.writeDouble(stored[t].get(it.next()));
                }
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Restores {@link #toBytes()} for the same tables, bit for bit. */
    public static DecayingCounters fromBytes(byte[] blob, List<TableSpec> tables) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(blob));
            if (in.readInt() != BLOB_MAGIC) {
                throw new IllegalArgumentException("not a popularity-counters blob (bad magic)");
            }
            DecayingCounters c = new DecayingCounters(tables, in.readDouble());
            c.base = in.readLong();
            c.step = in.readLong();
            c.weight = StrictMath.pow(c.decay, -(double) (c.step - c.base));
            int n = in.readInt();
            if (n != tables.size()) {
                throw new IllegalArgumentException("counters blob has " + n + " tables, the store has " + tables.size());
            }
            for (int t = 0; t < n; t++) {
                String name = in.readUTF();
                long rows = in.readLong();
                if (!tables.get(t).name().equals(name) || tables.get(t).rows() != rows) {
                    throw new IllegalArgumentException("counters blob table " + t + " is " + name + " with " + rows
                            + " rows, the store has " + tables.get(t).name() + " with " + tables.get(t).rows());
                }
                c.totals[t] = in.readDouble();
                c.touched[t].deserialize(in);
                PeekableIntIterator it = c.touched[t].getIntIterator();
                while (it.hasNext()) {
                    c.stored[t].set(it.next(), in.readDouble());
                }
            }
            return c;
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated popularity-counters blob", e);
        }
    }
}
