package dev.ember.jmh.cold;

import dev.ember.cache.durability.Manifest;
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
import java.nio.ByteOrder;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One op = a checkpoint after {@code batchesPerCheckpoint} Criteo-shaped batches were applied
 * (the applies run in the untimed setup): force the 26 map files, write the manifest atomically,
 * empty the undo log. The aux counter {@code bytes} is the manifest plus the pre-images retired.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, batchSize = 1)
@Measurement(iterations = 10, batchSize = 1)
@Fork(1)
public class ColdCheckpointBench {
    @Param({"16"})
    public int dim;

    @Param({"1", "16"})
    public int batchesPerCheckpoint;

    @Param({"250000"})
    public long rowCap;

    private CriteoBatches shape;
    private ColdTierFixture fixture;
    private ByteBuffer grads;
    private int next;
    private long step;

    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Bytes {
        public long bytes;
    }

    @Setup(Level.Trial)
    public void setUp() {
        shape = new CriteoBatches(ColdApplyBench.BATCHES, 2048, 1.05, rowCap, 7);
        fixture = new ColdTierFixture(shape, dim, 1, true, true);
        grads = ByteBuffer.allocateDirect(2048 * dim * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 2048 * dim; i++) {
            grads.putFloat(4 * i, 1e-4f);
        }
    }

    @Setup(Level.Invocation)
    public void applyBatches() {
        for (int k = 0; k < batchesPerCheckpoint; k++) {
            int b = next++ & (ColdApplyBench.BATCHES - 1);
            for (int t = 0; t < shape.tables(); t++) {
                fixture.tables[t].apply(shape.deduped[b][t], grads, 0.01f, 1e-8f);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        fixture.close();
    }

    @Benchmark
    public Manifest checkpoint(Bytes bytes) {
        Manifest m = fixture.store.checkpoint(++step, new long[] {step}, Map.of());
        bytes.bytes += fixture.store.lastCheckpointBytes();
        return m;
    }
}
