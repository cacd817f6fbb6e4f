package dev.ember.jmh.gpu;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.hot.HotBatch;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.Device;
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
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The hot tier end to end, as the trainer calls it: {@link SlotPool#gather} (host row-to-slot
 * translation, index upload through pinned staging, kernel) and {@link SlotPool#apply}
 * (scatter-apply over the dedup list with each optimizer), on Zipf batches (s = 1.05) of
 * {@code bags} one-hot bags over {@code hotRows} hot rows. Aux counter {@code rows}: rows
 * gathered (gather) or unique rows updated (apply) per second.
 *
 * <p>{@code java -jar benchmarks.jar HotTierBench -p backend=cuda}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class HotTierBench {
    @Param({"cuda"})
    public String backend;
    @Param({"SGD", "ROWWISE_ADAGRAD", "ADAGRAD"})
    public Optimizer optimizer;
    @Param({"16", "64"})
    public int dim;
    @Param({"1000000"})
    public int hotRows;
    @Param({"65536"})
    public int bags;

    private Device device;
    private SlotPool pool;
    private int table;
    private HotBatch batch;
    private PooledBatch ids;
    private DedupedIds dedup;

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rows {
        public long rows;

        @Setup(Level.Iteration)
        public void reset() {
            rows = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        device = Backends.open(backend);
        RowLayout layout = RowLayout.of(dim, optimizer);
        pool = new SlotPool(device, layout, (long) hotRows * pool(layout));
        table = pool.addTable(new TableSpec("bench", 100L * hotRows, dim, optimizer));
        long[] rows = new long[hotRows];
        for (int i = 0; i < hotRows; i++) {
            rows[i] = 100L * i + 7;
        }
        int chunk = 1 << 16;
        ByteBuffer bytes = ByteBuffer.allocateDirect(chunk * layout.bytesPerRow());
        Random rnd = new Random(3);
        while (bytes.hasRemaining()) {
            bytes.putFloat(rnd.nextFloat() * 0.01f);
        }
        for (int start = 0; start < hotRows; start += chunk) {
            int n = Math.min(chunk, hotRows - start);
            pool.promote(table, java.util.Arrays.copyOfRange(rows, start, start + n), n, bytes);
        }
        int[] draw = Backends.zipf(bags, hotRows, 1.05, 5);
        ids = new PooledBatch(bags, bags);
        for (int i = 0; i < bags; i++) {
            ids.add(rows[draw[i]]).endBag();
        }
        dedup = new DedupedIds().build(ids);
        batch = pool.newBatch(bags, bags);
        float[] grads = new float[bags * dim];
        for (int i = 0; i < grads.length; i++) {
            grads[i] = (float) rnd.nextGaussian() * 1e-3f;
        }
        batch.writeGradients(grads, bags);
        pool.sync();
        System.out.println("# " + dedup.uniqueCount() + " unique rows in a batch of " + bags);
    }

    private static long pool(RowLayout layout) {
        return layout.bytesPerRow() + 1L;
    }

    @Benchmark
    public void gather(Rows counter) {
        pool.gather(table, ids, batch);
        pool.sync();
        counter.rows += bags;
    }

    @Benchmark
    public void apply(Rows counter) {
        pool.apply(table, dedup, batch, 1e-4f, 1e-8f);
        pool.sync();
        counter.rows += dedup.uniqueCount();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (batch != null) {
            batch.close();
        }
        if (pool != null) {
            pool.close();
        }
        if (device != null) {
            device.close();
        }
    }
}
