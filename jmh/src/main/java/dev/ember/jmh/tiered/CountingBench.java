package dev.ember.jmh.tiered;

import dev.ember.cache.knob.Budget;
import dev.ember.cache.knob.KnobMode;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.ZipfWorkload;
import dev.ember.cache.tiered.StepBatch;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceSelector;
import dev.ember.gpu.pool.SlotPool;
import dev.ember.jmh.tiering.KaggleTables;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * The step thread's price of popularity counting: one tiered step (submit, gather, apply, step
 * boundary) over the 26 Criteo Kaggle tables scaled by {@code scale}, Zipf ids (s = 1.05, drifting
 * rank-to-row maps), batches of {@code bags} one-hot samples, the knob every {@code knobPeriod}
 * steps half a period behind (so the counters are frozen, logged and replayed half the time),
 * with the applied batches counted behind the steps ({@code countBehind=true}, the default) or on
 * the step thread ({@code false}: {@code -Dember.count.behind=false}). Ops = steps; the tear-down
 * prints the store's phases per step (its {@code write-back} is where counting at apply went) and
 * its waits (how long the step thread waited for counting behind it).
 *
 * <p>{@code ./ember bench CountingBench}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 4, time = 3)
@Fork(1)
public class CountingBench {
    @Param({"true", "false"})
    public String countBehind;
    @Param({"host"})
    public String backend;
    @Param({"0.02"})
    public double scale;
    @Param({"2048"})
    public int bags;
    @Param({"1"})
    public int hostThreads;
    @Param({"100"})
    public int knobPeriod;

    private static final int BATCHES = 64;

    private Path dir;
    private Store store;
    private Device device;
    private SlotPool pool;
    private TieredStore tiered;
    private StepBatch batch;
    private long[][][] ids;
    private float[][] grads;
    private long step;
    private long first;
    /** The step thread's CPU time (wall time on this shared box swings with others' load). */
    private final java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
    private long applyCpu;
    private long stepCpu;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        System.setProperty("ember.count.behind", countBehind); // read when the tiered store opens
        dir = Files.createTempDirectory("ember-counting-bench");
        List<TableSpec> specs = KaggleTables.tables(scale, Optimizer.SGD);
        int tables = specs.size();
        store = Store.create(dir.resolve("store"), StoreConfig.builder().tables(specs).seed(1).threads(1).jmx(false).build());
        ZipfWorkload w = new ZipfWorkload(specs, 1.05, 5);
        PooledBatch[] fill = w.newBatch(bags);
        ids = new long[BATCHES][tables][];
        for (int b = 0; b < BATCHES; b++) {
            if (b % 16 == 15) {
                w.drift();
            }
            w.fill(fill, bags);
            for (int t = 0; t < tables; t++) {
                ids[b][t] = java.util.Arrays.copyOf(fill[t].ids(), bags);
            }
        }
        SplittableRandom r = new SplittableRandom(7);
        grads = new float[tables][bags * 16];
        for (float[] g : grads) {
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (r.nextDouble() - 0.5) * 1e-3f;
            }
        }
        device = DeviceSelector.open(backend);
        pool = new SlotPool(device, specs.get(0).layout(), 1 << 20);
        TieredConfig c = TieredConfig.defaults(Budget.ofFraction(0.1), bags).withKnob(knobPeriod, knobPeriod / 2)
                .withChunks(512, 1).withMode(KnobMode.CACHE).withHostThreads(hostThreads);
        tiered = TieredStore.open(store, pool, c);
        batch = tiered.newBatch();
        for (int b = 0; b < 16; b++) {
            step(); // counted: the knob's first choice has counts to go on
        }
        tiered.chooseAndSettle();
        first = step;
        applyCpu = 0;
        stepCpu = 0;
    }

    @Benchmark
    public long step() {
        long c0 = cpu.getCurrentThreadCpuTime();
        long[][] b = ids[(int) (step % BATCHES)];
        for (int t = 0; t < b.length; t++) {
            batch.ids(t).setOneHot(b[t], bags);
        }
        tiered.submit(batch);
        tiered.gather(batch, null);
        long c1 = cpu.getCurrentThreadCpuTime();
        tiered.apply(batch, grads, 0.01f, 1e-8f);
        long c2 = cpu.getCurrentThreadCpuTime();
        tiered.endStep(++step);
        long c3 = cpu.getCurrentThreadCpuTime();
        applyCpu += c2 - c1;
        stepCpu += c3 - c0;
        return batch.coldIds();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        System.out.println();
        System.out.println("countBehind=" + countBehind + ", " + (step - first) + " steps: " + tiered.phases().perStep(step));
        System.out.println(tiered.moveWaits());
        double n = Math.max(1, step - first) * 1e6;
        System.out.printf("countBehind=%s: step thread CPU per step %.3f ms, of which apply %.3f ms (%d steps)%n",
                countBehind, stepCpu / n, applyCpu / n, step - first);
        batch.close();
        tiered.close();
        pool.close();
        device.close();
        store.close();
        System.clearProperty("ember.count.behind");
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
