package dev.ember.cache.popularity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplingProfilerTest {
    static final List<TableSpec> TABLES = List.of(
            new TableSpec("x", 1_000, 4, Optimizer.SGD),
            new TableSpec("y", 50, 4, Optimizer.SGD),
            new TableSpec("z", 20_000, 4, Optimizer.SGD));

    /** Samples as id lists per table (multi-hot: 0-3 ids per bag). */
    static List<long[][]> samples(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<long[][]> out = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            long[][] sample = new long[TABLES.size()][];
            for (int t = 0; t < TABLES.size(); t++) {
                sample[t] = new long[rnd.nextInt(4)];
                for (int k = 0; k < sample[t].length; k++) {
                    sample[t][k] = (long) (Math.pow(rnd.nextDouble(), 3) * TABLES.get(t).rows());
                }
            }
            out.add(sample);
        }
        return out;
    }

    /** Cuts the samples into batches of random sizes, one PooledBatch per table. */
    static List<PooledBatch[]> batches(List<long[][]> samples, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<PooledBatch[]> out = new ArrayList<>();
        int i = 0;
        while (i < samples.size()) {
            int size = Math.min(samples.size() - i, 1 + rnd.nextInt(700));
            PooledBatch[] b = new PooledBatch[TABLES.size()];
            for (int t = 0; t < b.length; t++) {
                b[t] = new PooledBatch(16, 16).clear();
                for (int s = i; s < i + size; s++) {
                    for (long id : samples.get(s)[t]) {
                        b[t].add(id);
                    }
                    b[t].endBag();
                }
            }
            out.add(b);
            i += size;
        }
        return out;
    }

    @Test
    void atRateOneCountsEqualAHashMapReference() {
        List<long[][]> samples = samples(20_000, 1);
        DecayingCounters counts = new SamplingProfiler(1.0, 99).profile(batches(samples, 2).iterator(), TABLES);
        List<Map<Long, Integer>> ref = new ArrayList<>();
        for (int t = 0; t < TABLES.size(); t++) {
            ref.add(new HashMap<>());
        }
        for (long[][] s : samples) {
            for (int t = 0; t < TABLES.size(); t++) {
                for (long id : s[t]) {
                    ref.get(t).merge(id, 1, Integer::sum);
                }
            }
        }
        for (int t = 0; t < TABLES.size(); t++) {
            assertEquals(ref.get(t).size(), counts.scoredRows(t));
            for (int row = 0; row < TABLES.get(t).rows(); row++) {
                assertEquals(ref.get(t).getOrDefault((long) row, 0), counts.score(t, row), 0.0, "table " + t + " row " + row);
            }
        }
    }

    @Test
    void samplesAtTheRequestedRateDeterministicallyWhateverTheBatching() {
        List<long[][]> samples = samples(200_000, 3);
        SamplingProfiler profiler = new SamplingProfiler(SamplingProfiler.DEFAULT_RATE, 7);
        DecayingCounters a = new DecayingCounters(TABLES, 1.0);
        long taken = profiler.profileInto(batches(samples, 4).iterator(), a);
        // Binomial(200000, 0.05): sd 97; 5 sd either side.
        assertTrue(Math.abs(taken - 10_000) < 500, "sampled " + taken + " of 200000 at 5%");
        DecayingCounters b = new DecayingCounters(TABLES, 1.0);
        assertEquals(taken, profiler.profileInto(batches(samples, 5).iterator(), b));
        DecayingCountersTest.assertBitIdenticalOver(TABLES, a, b);
        // The counts are those of exactly the sampled samples.
        DecayingCounters ref = new DecayingCounters(TABLES, 1.0);
        for (int s = 0; s < samples.size(); s++) {
            if (profiler.sampled(s)) {
                for (int t = 0; t < TABLES.size(); t++) {
                    for (long id : samples.get(s)[t]) {
                        ref.record(t, id);
                    }
                }
            }
        }
        DecayingCountersTest.assertBitIdenticalOver(TABLES, a, ref);
        DecayingCounters other = new SamplingProfiler(0.05, 8).profile(batches(samples, 4).iterator(), TABLES);
        assertTrue(other.recorded() != a.recorded() || other.score(2, 0) != a.score(2, 0), "another seed samples others");
        assertThrows(IllegalArgumentException.class, () -> new SamplingProfiler(0, 1));
    }
}
