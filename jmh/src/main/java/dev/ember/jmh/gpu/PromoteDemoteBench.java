package dev.ember.jmh.gpu;

import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.device.PinnedBuffer;
import dev.ember.gpu.device.Stream;
import dev.ember.gpu.pool.RowSlotIndex;
import dev.ember.gpu.pool.SlotPool;
import org.openjdk.jmh.annotations.AuxCounters;
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

/**
 * Row moves between host and device against the pinned copy bandwidth measured in the same run.
 * {@code promote}: {@code rows} rows from a direct host buffer into free slots (through the
 * pool's two pinned staging chunks); {@code demote}: the same rows back to host bytes with their
 * dirty flags. {@code h2d} / {@code d2h}: one pinned copy of the same bytes. Aux counter
 * {@code bytes}: row bytes moved per second (target: promote and demote >= 70% of h2d / d2h).
 * {@code promoteRowBuffer} / {@code demoteRowBuffer}: the same from and into
 * {@link SlotPool#newRowBuffer} (page-locked, no staging copy on the host).
 * The untimed per-invocation setup undoes the previous move. {@code mapThreads}: threads mapping
 * rows while the copies run (1: the pool's thread alone, as before). {@code index}: the table's
 * row-to-slot index ({@code auto}, the pool's default, picks direct for this shape: 2.6M rows,
 * 524,288 slots; {@code hashed}: the open-addressing map).
 *
 * <p>{@code java -jar benchmarks.jar PromoteDemoteBench -p backend=cuda}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class PromoteDemoteBench {
    @Param({"cuda"})
    public String backend;
    @Param({"64"})
    public int dim;
    @Param({"262144"})
    public int rows;
    /** Threads mapping rows during moves (SlotPool's default is up to 8: half the cores, a power of two). */
    @Param({"8"})
    public int mapThreads;
    @Param({"auto"})
    public String index;

    private Device device;
    private SlotPool pool;
    private int table;
    private long[] ids;
    private ByteBuffer host;
    private ByteBuffer rowBuffer;
    private boolean promoted;
    private PinnedBuffer pinned;
    private DeviceBuffer deviceCopy;
    private long rowBytes;

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        device = Backends.open(backend);
        RowLayout layout = RowLayout.of(dim, Optimizer.ROWWISE_ADAGRAD);
        pool = new SlotPool(device, layout, 2L * rows * (layout.bytesPerRow() + 1L), mapThreads, 0,
                RowSlotIndex.valueOf(index.toUpperCase(java.util.Locale.ROOT)));
        table = pool.addTable(new TableSpec("bench", 10L * rows, dim, Optimizer.ROWWISE_ADAGRAD));
        ids = new long[rows];
        for (int i = 0; i < rows; i++) {
            ids[i] = 7L * i + 3;
        }
        rowBytes = (long) rows * layout.bytesPerRow();
        host = ByteBuffer.allocateDirect((int) rowBytes);
        rowBuffer = pool.newRowBuffer(rows);
        pinned = device.allocatePinned(rowBytes);
        deviceCopy = device.allocate(rowBytes);
    }

    @Setup(Level.Invocation)
    public void undo(org.openjdk.jmh.infra.BenchmarkParams params) {
        String name = params.getBenchmark();
        boolean wantPromoted = name.endsWith("demote") || name.endsWith("demoteRowBuffer");
        if (wantPromoted && !promoted) {
            pool.promote(table, ids, rows, host);
            pool.sync();
            promoted = true;
        } else if (!wantPromoted && promoted) {
            pool.demote(table, ids, rows, host, null);
            promoted = false;
        }
    }

    @Benchmark
    public void promote(Bytes counter) {
        pool.promote(table, ids, rows, host);
        pool.sync();
        promoted = true;
        counter.bytes += rowBytes;
    }

    @Benchmark
    public void demote(Bytes counter) {
        pool.demote(table, ids, rows, host, null);
        promoted = false;
        counter.bytes += rowBytes;
    }

    /** Promote from the pool's own page-locked row buffer: no staging copy on the host. */
    @Benchmark
    public void promoteRowBuffer(Bytes counter) {
        pool.promote(table, ids, rows, rowBuffer);
        pool.sync();
        promoted = true;
        counter.bytes += rowBytes;
    }

    /** Demote into the pool's own page-locked row buffer. */
    @Benchmark
    public void demoteRowBuffer(Bytes counter) {
        pool.demote(table, ids, rows, rowBuffer, null);
        promoted = false;
        counter.bytes += rowBytes;
    }

    @Benchmark
    public void h2d(Bytes counter) {
        Stream s = device.defaultStream();
        device.copyToDevice(pinned, 0, deviceCopy, 0, rowBytes, s);
        s.synchronize();
        counter.bytes += rowBytes;
    }

    @Benchmark
    public void d2h(Bytes counter) {
        Stream s = device.defaultStream();
        device.copyToHost(deviceCopy, 0, pinned, 0, rowBytes, s);
        s.synchronize();
        counter.bytes += rowBytes;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (pool != null) {
            pool.close();
        }
        if (pinned != null) {
            pinned.close();
        }
        if (deviceCopy != null) {
            deviceCopy.close();
        }
        if (device != null) {
            device.close();
        }
    }
}
