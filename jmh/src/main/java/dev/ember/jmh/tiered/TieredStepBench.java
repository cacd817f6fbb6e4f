package dev.ember.jmh.tiered;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.knob.KnobMode;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.tiered.BudgetText;
import dev.ember.cache.tiered.StepBatch;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.pool.SlotPool;
import dev.ember.gpu.device.DeviceSelector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * One embedding step (pool every bag, apply per-bag gradients) over {@code tables} tables of a
 * Chronicle-backed store, Zipf ids (s = 1.05), batches of {@code bags} one-hot bags:
 * <ul>
 *   <li>{@code path=cold}: the baseline's path (ColdTable gather, host pooling, ColdTable apply);</li>
 *   <li>{@code path=tiered}: {@link TieredStore} with the hot rows the budget buys chosen from the
 *       batches' counts; misses are staged into spare hot slots for the step and written back.</li>
 * </ul>
 * With {@code budget=1} (one row) almost every id misses, so tiered minus cold is the price of
 * staging misses through the hot tier instead of pooling them on the host. Ops = steps.
 *
 * <p>{@code ./ember bench TieredStepBench -p backend=host}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class TieredStepBench {
    @Param({"host"})
    public String backend;
    @Param({"cold", "tiered"})
    public String path;
    @Param({"1", "0.01", "0.1"})
    public String budget;
    @Param({"4"})
    public int tables;
    @Param({"200000"})
    public int rows;
    @Param({"2048"})
    public int bags;

    private static final int DIM = 16;
    private static final int BATCHES = 32;

    private Path dir;
    private Store store;
    private Device device;
    private SlotPool pool;
    private TieredStore tiered;
    private StepBatch batch;
    private long[][][] ids;
    private float[][] pooled;
    private float[][] grads;
    private PooledBatch[] coldIds;
    private DedupedIds[] dedup;
    private ByteBuffer rowBuf;
    private ByteBuffer gradBuf;
    private long step;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("ember-tiered-bench");
        List<TableSpec> specs = new ArrayList<>();
        for (int t = 0; t < tables; t++) {
            specs.add(new TableSpec("t" + t, rows, DIM, Optimizer.SGD));
        }
        store = Store.create(dir.resolve("store"), StoreConfig.builder().tables(specs).seed(1).threads(1).jmx(false).build());
        SplittableRandom r = new SplittableRandom(5);
        double[] cdf = zipfCdf(rows, 1.05);
        ids = new long[BATCHES][tables][bags];
        for (long[][] b : ids) {
            for (long[] t : b) {
                for (int i = 0; i < bags; i++) {
                    int k = java.util.Arrays.binarySearch(cdf, r.nextDouble());
                    t[i] = Math.min(rows - 1, k < 0 ? -k - 1 : k);
                }
            }
        }
        pooled = new float[tables][bags * DIM];
        grads = new float[tables][bags * DIM];
        for (float[] g : grads) {
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (r.nextDouble() - 0.5) * 1e-3f;
            }
        }
        if (path.equals("tiered")) {
            device = DeviceSelector.open(backend);
            pool = new SlotPool(device, specs.get(0).layout(), 1 << 20);
            TieredConfig c = TieredConfig.defaults(BudgetText.parse(budget, "budget"), bags).withKnob(0, 0)
                    .withMode(KnobMode.CACHE);
            tiered = TieredStore.open(store, pool, c);
            for (long[][] b : ids) {
                for (int t = 0; t < tables; t++) {
                    for (long id : b[t]) {
                        tiered.popularity().record(t, id);
                    }
                }
            }
            tiered.chooseAndSettle();
            batch = tiered.newBatch();
        } else {
            coldIds = new PooledBatch[tables];
            dedup = new DedupedIds[tables];
            for (int t = 0; t < tables; t++) {
                coldIds[t] = new PooledBatch(bags, bags);
                dedup[t] = new DedupedIds();
            }
            rowBuf = ByteBuffer.allocateDirect(bags * DIM * 4).order(ByteOrder.LITTLE_ENDIAN);
            gradBuf = ByteBuffer.allocateDirect(bags * DIM * 4).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private static double[] zipfCdf(int n, double s) {
        double[] c = new double[n];
        double sum = 0;
        for (int k = 0; k < n; k++) {
            sum += 1.0 / Math.pow(k + 1, s);
            c[k] = sum;
        }
        for (int k = 0; k < n; k++) {
            c[k] /= sum;
        }
        return c;
    }

    @Benchmark
    public long step() {
        long[][] b = ids[(int) (step % BATCHES)];
        if (tiered != null) {
            for (int t = 0; t < tables; t++) {
                batch.ids(t).setOneHot(b[t], bags);
            }
            tiered.submit(batch);
            tiered.gather(batch, pooled);
            tiered.apply(batch, grads, 0.01f, 1e-8f);
            tiered.endStep(++step);
            return batch.coldIds();
        }
        long uniques = 0;
        for (int t = 0; t < tables; t++) {
            ColdTable table = store.tables().get(t);
            PooledBatch pb = coldIds[t].setOneHot(b[t], bags);
            DedupedIds d = dedup[t].build(pb);
            table.gather(d, rowBuf);
            int[] uniqueOf = d.uniqueOf();
            float[] out = pooled[t];
            for (int i = 0; i < bags; i++) {
                int base = uniqueOf[i] * DIM * 4;
                for (int c = 0; c < DIM; c++) {
                    out[i * DIM + c] = 0.0f + rowBuf.getFloat(base + 4 * c);
                }
            }
            gradBuf.clear();
            gradBuf.asFloatBuffer().put(grads[t], 0, bags * DIM);
            table.apply(d, gradBuf, 0.01f, 1e-8f);
            uniques += d.uniqueCount();
        }
        step++;
        return uniques;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (batch != null) {
            batch.close();
        }
        if (tiered != null) {
            tiered.close();
        }
        if (pool != null) {
            pool.close();
        }
        if (device != null) {
            device.close();
        }
        store.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
