package dev.ember.jmh.tiered;

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
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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

/**
 * The step thread's stall from re-tiering, end to end, between real training steps: one op = one
 * step boundary ({@link TieredStore#endStep}) and nothing else; before each op (untimed) one step
 * trains a batch (submit, gather, apply of {@code BAGS} one-hot ids per table), so the cold tier
 * is being written behind the steps, the hot rows are dirty (every demotion writes back) and the
 * knob's counters log accesses while it evaluates, as in {@code ember train}.
 *
 * <p>What moves: the knob (every {@value #KNOB_PERIOD} steps, its choice used {@value #KNOB_LAG}
 * steps later, as the trainer's 200/190) over a skewed stream whose hot rows drift every
 * {@value #DRIFT_STEPS} steps, so re-tiering never stops; one chunk of {@code chunkRows} moves a
 * boundary (the trainer's setting). 4 tables x {@code rows} rows, dim 16, SGD, a hot budget of
 * {@code hotRows} rows. {@code SampleTime} gives the distribution of the boundary's time (issue 4's
 * target: under 1 ms); the aux counter {@code rowsMoved} counts the rows published. On a shared,
 * oversubscribed machine the wall time swings with other people's load, so the tear-down also
 * prints the distribution of the step thread's CPU time per boundary (waits excluded: a wait shows
 * in the wall time only).
 *
 * <p>{@code ./ember bench RetieringStallBench -p backend=host} (or {@code opencl}, {@code cuda}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 4)
@Measurement(iterations = 5, time = 4)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g", "-XX:MaxDirectMemorySize=2g"})
public class RetieringStallBench {
    @Param({"host"})
    public String backend;
    @Param({"512"})
    public int chunkRows;
    @Param({"40000"})
    public int hotRows;
    @Param({"200000"})
    public int rows;

    static final int KNOB_PERIOD = 50;
    static final int KNOB_LAG = 45;
    static final int DRIFT_STEPS = 100;
    private static final int TABLES = 4;
    private static final int DIM = 16;
    private static final int BAGS = 1024;
    /** Batches in rotation: a batch's write-back may trail the steps by two. */
    private static final int BATCHES = 3;

    private Path dir;
    private Store store;
    private Device device;
    private SlotPool pool;
    private TieredStore tiered;
    private final List<StepBatch> batches = new ArrayList<>();
    private long step;
    private float[][] grads;
    private long[] ids;
    private SplittableRandom rnd;
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private long[] cpuNanos = new long[1 << 12];
    private int boundaries;

    /** Rows published by the ops of an iteration (promoted and demoted). */
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
        TieredConfig c = TieredConfig.defaults(Budget.ofBytes(budget), BAGS).withKnob(KNOB_PERIOD, KNOB_LAG)
                .withMode(KnobMode.CACHE).withChunks(chunkRows, 1);
        tiered = TieredStore.open(store, pool, c);
        for (int i = 0; i < BATCHES; i++) {
            batches.add(tiered.newBatch());
        }
        rnd = new SplittableRandom(3);
        ids = new long[BAGS];
        grads = new float[TABLES][BAGS * DIM];
        for (float[] g : grads) {
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (rnd.nextDouble() - 0.5) * 1e-3f;
            }
        }
    }

    /** One training step before each boundary (untimed): a skewed batch whose hot rows drift. */
    @Setup(Level.Invocation)
    public void trainOneStep() {
        StepBatch b = batches.get((int) (step % BATCHES));
        long shift = (step / DRIFT_STEPS) * 7_919L;
        for (int t = 0; t < TABLES; t++) {
            for (int i = 0; i < BAGS; i++) {
                long rank = (long) (rows * Math.pow(rnd.nextDouble(), 3));
                ids[i] = (rank * 104_729L + shift) % rows;
            }
            b.ids(t).setOneHot(ids, BAGS);
        }
        tiered.submit(b);
        tiered.gather(b, null);
        tiered.apply(b, grads, 0.01f, 1e-8f);
    }

    @Benchmark
    public long endStep(Moved moved) {
        long before = tiered.hotSets().promotedRows() + tiered.hotSets().demotedRows();
        long cpu = threads.getCurrentThreadCpuTime();
        tiered.endStep(++step);
        cpu = threads.getCurrentThreadCpuTime() - cpu;
        if (boundaries == cpuNanos.length) {
            cpuNanos = Arrays.copyOf(cpuNanos, 2 * boundaries);
        }
        cpuNanos[boundaries++] = cpu;
        long n = tiered.hotSets().promotedRows() + tiered.hotSets().demotedRows() - before;
        moved.rowsMoved += n;
        return n;
    }

    /** The store's account of moves behind the steps (absent from builds before them). */
    private String moveWaits() {
        try {
            return (String) TieredStore.class.getMethod("moveWaits").invoke(tiered);
        } catch (ReflectiveOperationException e) {
            return "moves: synchronous (no moveWaits in this build)";
        }
    }

    private static double pct(long[] sorted, double q) {
        return sorted.length == 0 ? 0 : sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1e3;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        System.out.println();
        System.out.println("steps " + step + ": " + tiered.phases().perStep(step));
        System.out.println(moveWaits());
        long[] cpu = Arrays.copyOf(cpuNanos, boundaries);
        Arrays.sort(cpu);
        long over = Arrays.stream(cpu).filter(x -> x > 1_000_000).count();
        System.out.printf("step-thread CPU per boundary (%d boundaries, warm-up included): p50 %.1f, p90 %.1f, p99 %.1f,"
                        + " p99.9 %.1f, max %.1f us; %d over 1 ms%n", cpu.length, pct(cpu, 0.5), pct(cpu, 0.9), pct(cpu, 0.99),
                pct(cpu, 0.999), cpu.length == 0 ? 0 : cpu[cpu.length - 1] / 1e3, over);
        for (StepBatch b : batches) {
            b.close();
        }
        tiered.close();
        pool.close();
        device.close();
        store.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
