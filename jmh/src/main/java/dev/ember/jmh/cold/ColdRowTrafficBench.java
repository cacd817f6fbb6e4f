package dev.ember.jmh.cold;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.cold.ColdTable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cold tier's row traffic in the tiered modes, one op = one Criteo-shaped batch's unique rows
 * (2048 samples x 26 tables). A store reopened knows no row's place: each row's first touch goes
 * through Chronicle's lookup and remembers it in the position index; from then on reads copy from
 * there and writes are made there ({@code InPlaceRows}), as in a long training run:
 * <ul>
 *   <li>{@code read}: {@link ColdTable.Reader#gather} on the calling thread, as the prefetch and
 *       the mover threads read missed and promoted rows;</li>
 *   <li>{@code write}: {@link ColdTable#put} through the store's pool, as the write-behind writes
 *       a batch's missed rows back and the mover writes demoted rows (pre-images on, every row
 *       logged after the first op: the steady state between checkpoints).</li>
 * </ul>
 * Aux counters: {@code rows} (rows/s, wall clock) and {@code cpuNanos}/{@code cpuRows} (CPU
 * nanoseconds per row, the caller's and the pool's threads: robust on a shared machine).
 *
 * <p>{@code ./ember bench ColdRowTrafficBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class ColdRowTrafficBench {
    @Param({"16", "64"})
    public int dim;

    /** Largest table, in rows. */
    @Param({"250000"})
    public long rowCap;

    @Param({"1.05"})
    public double zipf;

    /**
     * {@code all}: every row stored (the steady state); {@code none}: a new store, reads of rows
     * never written (a large table's tail). A {@code write} with {@code none} inserts the rows in
     * its first 16 ops, then is as with {@code all}: read its figure with {@code all}.
     */
    @Param({"all", "none"})
    public String stored;

    private static final int BATCHES = 16;
    private static final int BATCH = 2048;

    private CriteoBatches shape;
    private ColdTierFixture fixture;
    private ColdTable.Reader[] readers;
    private ByteBuffer rows;
    private CpuClock clock;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        shape = new CriteoBatches(BATCHES, BATCH, zipf, rowCap, 7);
        fixture = new ColdTierFixture(shape, dim, 1, true, false, stored.equals("all"));
        readers = new ColdTable.Reader[shape.tables()];
        for (int t = 0; t < readers.length; t++) {
            readers[t] = fixture.tables[t].newReader();
        }
        clock = new CpuClock(fixture.store.workerThreadIds());
        rows = ByteBuffer.allocateDirect(BATCH * fixture.tables[0].bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        fixture.close();
    }

    @Benchmark
    public long read(ColdCounters.Rows r, ColdCounters.Cpu cpu) {
        int b = next++ & (BATCHES - 1);
        long c0 = clock.nanos();
        for (int t = 0; t < shape.tables(); t++) {
            DedupedIds d = shape.deduped[b][t];
            readers[t].gather(d.unique(), d.uniqueCount(), rows);
        }
        return count(b, c0, r, cpu);
    }

    @Benchmark
    public long write(ColdCounters.Rows r, ColdCounters.Cpu cpu) {
        int b = next++ & (BATCHES - 1);
        long c0 = clock.nanos();
        for (int t = 0; t < shape.tables(); t++) {
            DedupedIds d = shape.deduped[b][t];
            fixture.tables[t].put(d.unique(), d.uniqueCount(), rows);
        }
        return count(b, c0, r, cpu);
    }

    private long count(int b, long c0, ColdCounters.Rows r, ColdCounters.Cpu cpu) {
        ColdCounters.count(r, cpu, shape.uniqueRows(b), clock.nanos() - c0);
        return rows.getLong(0);
    }
}
