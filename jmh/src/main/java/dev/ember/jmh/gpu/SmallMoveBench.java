package dev.ember.jmh.gpu;

import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.pool.SlotPool;
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

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Where waking the map threads starts to pay: one promote plus one demote of {@code rows} rows
 * (row buffer, row-wise Adagrad), mapped by the caller alone ({@code where=caller}) or handed to
 * {@code mapThreads} threads ({@code where=threads}). {@code gapMicros}: the caller waits this long
 * between moves (untimed), so the threads have parked (200) or are still spinning (0), as between
 * a training step's back-to-back moves of 26 tables. SlotPool's {@code mapThreadsMinRows} default
 * is the smallest {@code rows} where threads win.
 *
 * <p>{@code java -jar benchmarks.jar SmallMoveBench -p backend=cuda}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class SmallMoveBench {
    @Param({"host"})
    public String backend;
    @Param({"64"})
    public int dim;
    @Param({"512", "2048", "4096", "8192", "16384"})
    public int rows;
    @Param({"8"})
    public int mapThreads;
    @Param({"caller", "threads"})
    public String where;
    @Param({"200"})
    public int gapMicros;

    private Device device;
    private SlotPool pool;
    private int table;
    private long[] ids;
    private ByteBuffer rowBuffer;

    @Setup(Level.Trial)
    public void setUp() {
        if (!"caller".equals(where) && !"threads".equals(where)) {
            throw new IllegalArgumentException("where must be caller or threads, got " + where);
        }
        device = Backends.open(backend);
        RowLayout layout = RowLayout.of(dim, Optimizer.ROWWISE_ADAGRAD);
        int minRows = "threads".equals(where) ? 0 : Integer.MAX_VALUE;
        pool = new SlotPool(device, layout, 2L * rows * (layout.bytesPerRow() + 1L), mapThreads, minRows);
        // Table of 2^24 rows: the map outgrows the caches as in a run with many hot rows.
        table = pool.addTable(new TableSpec("bench", 1L << 24, dim, Optimizer.ROWWISE_ADAGRAD));
        ids = new long[rows];
        for (int i = 0; i < rows; i++) {
            ids[i] = (i * 0x9E3779B1L) & ((1L << 24) - 1);
        }
        rowBuffer = pool.newRowBuffer(rows);
    }

    @Setup(Level.Invocation)
    public void gap() {
        if (gapMicros > 0) {
            LockSupport.parkNanos(gapMicros * 1000L);
        }
    }

    @Benchmark
    public void promoteDemote() {
        pool.promote(table, ids, rows, rowBuffer);
        pool.demote(table, ids, rows, rowBuffer, null);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (pool != null) {
            pool.close();
        }
        if (device != null) {
            device.close();
        }
    }
}
