package dev.ember.jmh.tiering;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.hotset.HotSets;
import dev.ember.cache.hotset.MoveChunk;
import dev.ember.cache.hotset.SampleClassifier;
import dev.ember.cache.knob.Budget;
import dev.ember.cache.knob.HotRowChooser;
import dev.ember.cache.knob.Hysteresis;
import dev.ember.cache.knob.KnobChoice;
import dev.ember.cache.knob.KnobMode;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.ZipfWorkload;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The costs of re-tiering on Criteo-Kaggle-shaped tables (26 tables, 33.8M rows, dim 16):
 * the knob's re-evaluation (off the step path), one move chunk's planning and publication (on
 * the step path, at a step boundary), pinning a batch, classifying a batch, and counting a
 * batch's ids.
 */
@Fork(value = 1, jvmArgsAppend = {"-Xmx6g", "-XX:MaxDirectMemorySize=4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 2)
public class TieringBenchmarks {
    static final int SAMPLES = 2_048;
    static final double EXPONENT = 1.05;

    /** Counters fed by a Zipf stream, the tables, and hot sets chosen at the budget. */
    @State(Scope.Benchmark)
    public static class Tiered {
        @Param({"1.0"})
        public double scale;
        @Param({"5"})
        public int budgetPct;
        /** Steps of 2048 samples fed to the counters before measuring. */
        @Param({"400"})
        public int warmSteps;
        /** Threads ranking the tables in an evaluation (1: the knob's thread alone; a tiered store uses its counting workers). */
        @Param({"1"})
        public int rankThreads;

        java.util.concurrent.ExecutorService rankPool;
        DecayingCounters.TableRunner rank = DecayingCounters.TableRunner.HERE;

        List<TableSpec> tables;
        DecayingCounters counters;
        HotSet incumbent;
        HotSet drifted;
        long budgetBytes;
        HotRowChooser chooser = new HotRowChooser(Hysteresis.DEFAULT);
        PooledBatch[] batch;

        @Setup(Level.Trial)
        public void setUp() {
            if (rankThreads > 1) {
                rankPool = java.util.concurrent.Executors.newFixedThreadPool(rankThreads);
                rank = DecayingCounters.TableRunner.on(rankPool);
            }
            tables = KaggleTables.tables(scale, Optimizer.SGD);
            budgetBytes = Budget.ofFraction(budgetPct / 100.0).resolve(tables);
            ZipfWorkload w = new ZipfWorkload(tables, EXPONENT, 1);
            counters = new DecayingCounters(tables, DecayingCounters.decayForHalfLife(150));
            batch = w.newBatch(SAMPLES);
            for (int s = 0; s < warmSteps; s++) {
                w.fill(batch, SAMPLES);
                counters.record(batch);
                counters.advanceTo(s + 1);
            }
            incumbent = chooser.choose(counters, HotSet.empty(tables), budgetBytes, KnobMode.CACHE).hotSet();
            // The same budget after the hot rows moved: the largest re-tiering there is.
            ZipfWorkload moved = new ZipfWorkload(tables, EXPONENT, 1);
            moved.drift();
            DecayingCounters after = new DecayingCounters(tables, 1.0);
            for (int s = 0; s < warmSteps; s++) {
                moved.fill(batch, SAMPLES);
                after.record(batch);
            }
            drifted = chooser.choose(after, HotSet.empty(tables), budgetBytes, KnobMode.CACHE).hotSet();
            w.fill(batch, SAMPLES);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (rankPool != null) {
                rankPool.shutdownNow();
            }
        }
    }

    /** The re-evaluation: choosing the next hot set from all counters (background thread). */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public KnobChoice knobEvaluation(Tiered s) {
        return s.chooser.choose(s.counters, s.incumbent, s.budgetBytes, KnobMode.CACHE, s.rank);
    }

    /** Same in fae mode (greedy on log per-table hit rates). */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public KnobChoice knobEvaluationFae(Tiered s) {
        return s.chooser.choose(s.counters, s.incumbent, s.budgetBytes, KnobMode.FAE, s.rank);
    }

    /** A re-tiering in progress from the incumbent to the drifted set; chunks of a given size. */
    @State(Scope.Thread)
    public static class Moving {
        @Param({"256", "1024", "4096"})
        public int chunkRows;
        HotSets sets;
        MoveChunk chunk;
        HotSet from;
        HotSet to;

        @Setup(Level.Trial)
        public void setUp(Tiered t) {
            from = t.incumbent;
            to = t.drifted;
            sets = new HotSets(from);
            sets.retarget(to);
            chunk = new MoveChunk(chunkRows);
        }

        /** When a re-tiering is done, start the reverse one (not timed). */
        @Setup(Level.Invocation)
        public void refill() {
            if (sets.settled()) {
                HotSet back = sameRows(sets.current(), to) ? from : to;
                sets.retarget(back);
            }
        }

        private static boolean sameRows(HotSet a, HotSet b) {
            return a.sameRows(b);
        }
    }

    /**
     * One chunk at a step boundary: plan up to chunkRows unpinned moves and publish the next
     * generation (the row copies themselves are the tiers' and not included).
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public HotSet planAndCommitChunk(Moving m) {
        if (!m.sets.planChunk(m.chunk)) {
            return m.sets.current();
        }
        return m.sets.commit(m.chunk);
    }

    /**
     * Setting a new target at the step the knob hands it out: the two Roaring differences per
     * table against the current hot set (on the step thread).
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long retarget(Pinning p, Tiered t) {
        p.sets.retarget(t.drifted);
        return p.sets.pendingPromotions();
    }

    /** A target prepared on the knob's thread, with 4 chunks of 1024 rows committed since. */
    @State(Scope.Thread)
    public static class Prepared {
        /** Chunks of 1,024 moves committed between the preparation and its adoption (a tiered store rebases 16 steps before due). */
        @Param({"4"})
        public int movedChunks;

        HotSets sets;
        HotSets.PreparedTarget prepared;
        final MoveChunk chunk = new MoveChunk(1024);

        @Setup(Level.Invocation)
        public void prepare(Tiered t) {
            sets = new HotSets(t.incumbent);
            sets.retarget(t.drifted);
            prepared = sets.prepare(t.drifted);
            for (int i = 0; i < movedChunks && sets.planChunk(chunk); i++) {
                sets.commit(chunk);
            }
        }
    }

    /** The step thread's part of a prepared retarget: adopt the differences, correct the rows moved since. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long retargetPrepared(Prepared p) {
        p.sets.retarget(p.prepared);
        return p.sets.slowRetargets();
    }

    /** Hot sets with a re-tiering pending, for pinning. */
    @State(Scope.Thread)
    public static class Pinning {
        HotSets sets;

        @Setup(Level.Trial)
        public void setUp(Tiered t) {
            sets = new HotSets(t.incumbent);
            sets.retarget(t.drifted);
        }
    }

    /** Pinning and releasing a batch of 2048 samples x 26 tables (the batch builder's cost). */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public HotSet pinAndRelease(Tiered s, Pinning p) {
        HotSet g = p.sets.pin(s.batch);
        p.sets.release(s.batch);
        return g;
    }

    /** Classifying the samples of a batch as all-hot or not (fae mode). */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int classifyBatch(Tiered s, Hot h) {
        return SampleClassifier.classify(s.incumbent, s.batch, h.bits);
    }

    @State(Scope.Thread)
    public static class Hot {
        long[] bits = new long[SampleClassifier.words(SAMPLES)];
    }

    /** Counting a batch's 53k ids into the decaying counters (the store's hot path). */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void recordBatch(Tiered s) {
        s.counters.record(s.batch);
    }
}
