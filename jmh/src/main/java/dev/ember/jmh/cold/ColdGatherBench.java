package dev.ember.jmh.cold;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.cold.WorkerPool;
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
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * One op = gathering one Criteo-shaped batch (2048 samples x 26 tables, deduplicated per table)
 * from the cold tier ({@code chronicle}) or from plain off-heap arrays ({@code raw}) with the same
 * ids, the same dedup and the same thread partitions. Aux counters: {@code rows} (rows/s, wall
 * clock) and {@code cpuNanos}/{@code cpuRows} (CPU time per row, robust on a shared machine).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class ColdGatherBench {
    @Param({"16", "64"})
    public int dim;

    @Param({"1", "2"})
    public int threads;

    /** Largest table, in rows (0 = Criteo Kaggle's full 10.1M); capped where memory is small. */
    @Param({"250000"})
    public long rowCap;

    @Param({"1.05"})
    public double zipf;

    private static final int BATCHES = 16;
    private static final int BATCH = 2048;

    private CriteoBatches shape;
    private ColdTierFixture fixture;
    private WorkerPool rawPool;
    private ByteBuffer out;
    private int next;
    private final RawGather rawGather = new RawGather();

    private CpuClock storeClock;
    private CpuClock rawClock;

    @Setup(Level.Trial)
    public void setUp() {
        shape = new CriteoBatches(BATCHES, BATCH, zipf, rowCap, 7);
        fixture = new ColdTierFixture(shape, dim, threads, true, true);
        rawPool = new WorkerPool(threads, "raw-gather");
        storeClock = new CpuClock(fixture.store.workerThreadIds());
        rawClock = new CpuClock(rawPool.workerThreadIds());
        out = ByteBuffer.allocateDirect(BATCH * fixture.tables[0].bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        rawPool.close();
        fixture.close();
    }

    @Benchmark
    public long chronicle(ColdCounters.Rows rows, ColdCounters.Cpu cpu) {
        int b = next++ & (BATCHES - 1);
        long c0 = storeClock.nanos();
        for (int t = 0; t < shape.tables(); t++) {
            fixture.tables[t].gather(shape.deduped[b][t], out);
        }
        ColdCounters.count(rows, cpu, shape.uniqueRows(b), storeClock.nanos() - c0);
        return out.getLong(0);
    }

    @Benchmark
    public long raw(ColdCounters.Rows rows, ColdCounters.Cpu cpu) {
        int b = next++ & (BATCHES - 1);
        long c0 = rawClock.nanos();
        for (int t = 0; t < shape.tables(); t++) {
            rawGather.set(shape.deduped[b][t], fixture.raw[t], out, fixture.tables[t].bytesPerRow());
            rawPool.run(shape.deduped[b][t].uniqueCount(), rawGather);
        }
        ColdCounters.count(rows, cpu, shape.uniqueRows(b), rawClock.nanos() - c0);
        return out.getLong(0);
    }

    /** The baseline: copy each unique row from a flat off-heap array, same partitions as the cold tier. */
    static final class RawGather implements WorkerPool.RangeTask {
        private long[] ids;
        private ByteBuffer src;
        private ByteBuffer dst;
        private int rowBytes;

        void set(DedupedIds d, ByteBuffer src, ByteBuffer dst, int rowBytes) {
            this.ids = d.unique();
            this.src = src;
            this.dst = dst;
            this.rowBytes = rowBytes;
        }

        @Override
        public void run(int partition, int from, int to) {
            for (int u = from; u < to; u++) {
                dst.put(u * rowBytes, src, (int) (ids[u] * rowBytes), rowBytes);
            }
        }
    }
}
