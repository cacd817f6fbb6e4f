package dev.ember.jmh.tiered;

import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.knob.Budget;
import dev.ember.cache.knob.KnobMode;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.tiered.StepBatch;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceSelector;
import dev.ember.gpu.pool.SlotPool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
import org.roaringbitmap.RoaringBitmap;

/**
 * The step thread's stall from re-tiering, end to end: one op = one step boundary
 * ({@link TieredStore#endStep}) of a re-tiering in progress, which plans, copies (demotions: read
 * from the hot tier and write the dirty rows back into Chronicle; promotions: read from
 * Chronicle into the hot tier) and publishes up to {@code chunksPerStep} chunks of
 * {@code chunkRows} moves. Two hot sets of {@code hotRows} rows each (half shared) over 4 tables
 * of {@code rows} rows, dim 16, SGD, are swapped back and forth; before each swap every hot row is
 * updated (untimed), so every demotion writes back (the worst case: training keeps hot rows dirty).
 * {@code SampleTime} gives the stall's distribution; the aux counter {@code rowsMoved} (per op)
 * over the mean gives the sustained move rate.
 *
 * <p>{@code ./ember bench RetieringStallBench -p backend=host}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g", "-XX:MaxDirectMemorySize=2g"})
public class RetieringStallBench {
    @Param({"host"})
    public String backend;
    @Param({"64", "256", "1024"})
    public int chunkRows;
    @Param({"1"})
    public int chunksPerStep;
    @Param({"100000"})
    public int hotRows;
    @Param({"500000"})
    public int rows;

    private static final int TABLES = 4;
    private static final int DIM = 16;
    private static final int BAGS = 4096;

    private Path dir;
    private Store store;
    private Device device;
    private SlotPool pool;
    private TieredStore tiered;
    private StepBatch batch;
    private HotSet[] sets;
    private int next;
    private long step;
    private float[][] grads;

    /** Rows moved by the ops of an iteration. */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Moved {
        public long rowsMoved;
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("ember-retiering-bench");
        List<TableSpec> specs = new ArrayList<>();
        for (int t = 0; t < TABLES; t++) {
            specs.add(new TableSpec("t" + t, rows, DIM, Optimizer.SGD));
        }
        store = Store.create(dir.resolve("store"), StoreConfig.builder().tables(specs).seed(1).threads(1).jmx(false).build());
        device = DeviceSelector.open(backend);
        pool = new SlotPool(device, specs.get(0).layout(), 1 << 20);
        long budget = (long) hotRows * specs.get(0).layout().bytesPerRow();
        TieredConfig c = TieredConfig.defaults(Budget.ofBytes(budget), BAGS).withKnob(0, 0).withMode(KnobMode.CACHE)
                .withChunks(chunkRows, chunksPerStep);
        tiered = TieredStore.open(store, pool, c);
        SplittableRandom r = new SplittableRandom(3);
        RoaringBitmap[][] maps = new RoaringBitmap[2][TABLES];
        for (int t = 0; t < TABLES; t++) {
            maps[0][t] = new RoaringBitmap();
            maps[1][t] = new RoaringBitmap();
            int per = hotRows / TABLES;
            while (maps[0][t].getCardinality() < per) {
                int row = r.nextInt(rows);
                maps[0][t].add(row);
                if (maps[0][t].getCardinality() % 2 == 0) {
                    maps[1][t].add(row); // half shared
                }
            }
            while (maps[1][t].getCardinality() < per) {
                int row = r.nextInt(rows);
                if (!maps[0][t].contains(row)) {
                    maps[1][t].add(row);
                }
            }
        }
        sets = new HotSet[] {HotSet.of(0, specs, maps[0]), HotSet.of(0, specs, maps[1])};
        tiered.retarget(sets[0]);
        tiered.settle();
        batch = tiered.newBatch();
        grads = new float[TABLES][BAGS * DIM];
        for (float[] g : grads) {
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (r.nextDouble() - 0.5) * 1e-3f;
            }
        }
        next = 1;
    }

    /** When a re-tiering is done: update every hot row (dirty), then start the swap back (untimed). */
    @Setup(Level.Invocation)
    public void refill() {
        if (!tiered.hotSets().settled()) {
            return;
        }
        HotSet cur = tiered.hotSet();
        long[] ids = new long[BAGS];
        for (int t = 0; t < TABLES; t++) {
            var it = cur.rowIterator(t);
            while (it.hasNext()) {
                int n = 0;
                while (n < BAGS && it.hasNext()) {
                    ids[n++] = it.next();
                }
                for (int u = 0; u < TABLES; u++) {
                    batch.ids(u).setOneHot(ids, u == t ? n : 0);
                }
                tiered.submit(batch);
                tiered.gather(batch, null);
                tiered.apply(batch, grads, 0.01f, 1e-8f);
            }
        }
        tiered.retarget(sets[next]);
        next ^= 1;
    }

    @Benchmark
    public long endStep(Moved moved) {
        long before = tiered.hotSets().promotedRows() + tiered.hotSets().demotedRows();
        tiered.endStep(++step);
        long n = tiered.hotSets().promotedRows() + tiered.hotSets().demotedRows() - before;
        moved.rowsMoved += n;
        return n;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        batch.close();
        tiered.close();
        pool.close();
        device.close();
        store.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
