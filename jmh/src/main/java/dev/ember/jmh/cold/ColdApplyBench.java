package dev.ember.jmh.cold;

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
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One op = applying one Criteo-shaped batch's gradients (2048 bags x 26 tables, SGD) to the cold
 * tier, with the undo log forced, written only, or off. A checkpoint (outside the measured time) starts every pass
 * over the {@value #BATCHES} batches, so each pass pays the pre-images of the rows it touches
 * first, as training between checkpoints does.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class ColdApplyBench {
    @Param({"16", "64"})
    public int dim;

    @Param({"1", "2"})
    public int threads;

    /** forced: pre-images fdatasync'ed before rows change (default); written: only written; off: none. */
    @Param({"forced", "written", "off"})
    public String undoLog;

    @Param({"250000"})
    public long rowCap;

    @Param({"1.05"})
    public double zipf;

    static final int BATCHES = 16;
    private static final int BATCH = 2048;

    private CriteoBatches shape;
    private ColdTierFixture fixture;
    private ByteBuffer grads;
    private int next;
    private long step;

    private CpuClock clock;

    @Setup(Level.Trial)
    public void setUp() {
        shape = new CriteoBatches(BATCHES, BATCH, zipf, rowCap, 7);
        fixture = new ColdTierFixture(shape, dim, threads, !undoLog.equals("off"), undoLog.equals("forced"));
        clock = new CpuClock(fixture.store.workerThreadIds());
        grads = ByteBuffer.allocateDirect(BATCH * dim * 4).order(ByteOrder.LITTLE_ENDIAN);
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < BATCH * dim; i++) {
            grads.putFloat(4 * i, (float) (rnd.nextDouble() - 0.5) * 1e-3f);
        }
    }

    /** Invocations last tens of milliseconds: JMH's per-invocation overhead is negligible here. */
    @Setup(Level.Invocation)
    public void checkpointEachPass() {
        if ((next & (BATCHES - 1)) == 0) {
            fixture.store.checkpoint(++step, new long[0], Map.of());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        fixture.close();
    }

    @Benchmark
    public void apply(ColdCounters.Rows rows, ColdCounters.Cpu cpu) {
        int b = next++ & (BATCHES - 1);
        long c0 = clock.nanos();
        for (int t = 0; t < shape.tables(); t++) {
            fixture.tables[t].apply(shape.deduped[b][t], grads, 0.01f, 1e-8f);
        }
        ColdCounters.count(rows, cpu, shape.uniqueRows(b), clock.nanos() - c0);
    }
}
