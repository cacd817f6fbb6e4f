package dev.ember.jmh.tiering;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.ZipfWorkload;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Popularity counting as a tiered store does it, the counters alone ({@code tiered.CountingBench}
 * times a whole store's step): each table's batch counted from its deduplication (each unique id
 * with its occurrences, {@link DecayingCounters#record(int, DedupedIds)}), then the clock moved a
 * step. Criteo-Kaggle-shaped tables (26, 33.8M rows at
 * {@code scale} 1), Zipf batches of 2048 samples; {@code batches} different batches in turn, so
 * the counters' rows are not those of the step before. Time per step (53K ids, ~12K unique on the
 * trainer's data). In a JFR recording of {@code --mode cache} on an H200 the counting threads held
 * 39% of the process's samples (docs/BENCHMARKS.md). {@code threads}: the tables shared out over that many threads ({@code t % threads}), as a tiered
 * store's counting workers do.
 *
 * <p>{@code java -jar benchmarks.jar CounterStepBench -p threads=1,2}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-XX:MaxDirectMemorySize=2g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 2)
public class CounterStepBench {
    static final int SAMPLES = 2_048;

    @Param({"1.0"})
    public double scale;
    @Param({"1.05"})
    public double exponent;
    @Param({"64"})
    public int batches;
    @Param({"1"})
    public int threads;
    @Param({"8"})
    public int frozenSteps;

    private java.util.concurrent.ExecutorService pool;
    private DecayingCounters counters;
    private DedupedIds[][] dedups;
    private int next;
    private long step;

    @Setup(Level.Trial)
    public void setUp() {
        List<TableSpec> tables = KaggleTables.tables(scale, Optimizer.SGD);
        ZipfWorkload w = new ZipfWorkload(tables, exponent, 1);
        counters = new DecayingCounters(tables, DecayingCounters.decayForHalfLife(150));
        PooledBatch[] batch = w.newBatch(SAMPLES);
        pool = threads > 1 ? java.util.concurrent.Executors.newFixedThreadPool(threads) : null;
        if (pool != null) {
            counters.replayOn(DecayingCounters.TableRunner.on(pool));
        }
        dedups = new DedupedIds[batches][tables.size()];
        for (int b = 0; b < batches; b++) {
            w.fill(batch, SAMPLES);
            for (int t = 0; t < tables.size(); t++) {
                dedups[b][t] = new DedupedIds().build(batch[t]);
            }
        }
    }

    /** One step: every table's deduplicated batch counted, then the clock moved. */
    @Benchmark
    public long countStep() throws Exception {
        DedupedIds[] d = dedups[next];
        next = (next + 1) % dedups.length;
        if (pool == null) {
            countTables(d, 0, 1);
        } else {
            java.util.concurrent.Future<?>[] parts = new java.util.concurrent.Future<?>[threads];
            for (int w = 0; w < threads; w++) {
                final int lane = w;
                parts[w] = pool.submit(() -> countTables(d, lane, threads));
            }
            for (java.util.concurrent.Future<?> f : parts) {
                f.get();
            }
        }
        counters.advanceTo(++step);
        return counters.recorded();
    }

    /**
     * {@code frozenSteps} steps counted while frozen (into the log), then the log replayed (thaw)
     * with its groups of tables on the pool: what a store's counting does between a knob's freeze
     * and the counts going live again. Time per invocation; divide by {@code frozenSteps}.
     */
    @Benchmark
    public long logAndReplaySteps() {
        counters.freeze();
        for (int s = 0; s < frozenSteps; s++) {
            DedupedIds[] d = dedups[next];
            next = (next + 1) % dedups.length;
            countTables(d, 0, 1); // frozen: one log sequence, appended in table order
            counters.advanceTo(++step);
        }
        counters.thaw();
        return counters.recorded();
    }

    private void countTables(DedupedIds[] d, int lane, int lanes) {
        for (int t = lane; t < d.length; t += lanes) {
            counters.record(t, d[t]);
        }
    }

    @org.openjdk.jmh.annotations.TearDown(Level.Trial)
    public void tearDown() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
