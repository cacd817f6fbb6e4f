package dev.ember.cache.hotset;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.cache.batch.PooledBatch;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SampleClassifierTest {

    @Test
    void aSampleIsHotIffAllItsIdsInAllTablesAreHotInOneOrManyRanges() {
        SplittableRandom rnd = new SplittableRandom(11);
        int tables = HotSetTest.TABLES.size();
        PooledBatch[] batch = new PooledBatch[tables];
        for (int t = 0; t < tables; t++) {
            batch[t] = new PooledBatch(16, 16);
        }
        long[] hot = new long[1];
        for (int round = 0; round < 40; round++) {
            List<Set<Long>> sets = HotSetTest.randomSets(rnd, 0.9);
            HotSet h = HotSetTest.hotSet(round, sets);
            // Every fourth round a window of several parallel ranges (64 words each), ending mid-word.
            int samples = round % 4 == 0 ? 4_096 * 2 + 1 + rnd.nextInt(9_000) : rnd.nextInt(300);
            for (int t = 0; t < tables; t++) {
                batch[t].clear();
                long rows = HotSetTest.TABLES.get(t).rows();
                for (int s = 0; s < samples; s++) {
                    int bag = rnd.nextInt(4); // multi-hot and empty bags too
                    for (int k = 0; k < bag; k++) {
                        // Half the ids from the hot set, so all-hot samples happen.
                        long id = rnd.nextBoolean() && !sets.get(t).isEmpty()
                                ? sets.get(t).iterator().next() : rnd.nextLong(rows);
                        batch[t].add(id);
                    }
                    batch[t].endBag();
                }
            }
            if (hot.length < SampleClassifier.words(samples)) {
                hot = new long[SampleClassifier.words(samples)];
            }
            long[] parallel = new long[hot.length];
            java.util.Arrays.fill(parallel, -1L); // stale bits must be overwritten
            int parallelCount = SampleClassifier.classifyInParallel(h, batch, parallel);
            java.util.Arrays.fill(hot, -1L);
            int count = SampleClassifier.classify(h, batch, hot);
            assertEquals(count, parallelCount);
            for (int w = 0; w < SampleClassifier.words(samples); w++) {
                assertEquals(hot[w], parallel[w], "word " + w + " of the parallel split");
            }
            int expectedCount = 0;
            for (int s = 0; s < samples; s++) {
                boolean expected = true;
                for (int t = 0; t < tables; t++) {
                    for (int i = batch[t].offsets()[s]; i < batch[t].offsets()[s + 1]; i++) {
                        expected &= sets.get(t).contains(batch[t].id(i));
                    }
                }
                expectedCount += expected ? 1 : 0;
                assertEquals(expected, (hot[s >>> 6] & (1L << s)) != 0, "sample " + s);
            }
            for (int s = samples; s < SampleClassifier.words(samples) * 64; s++) {
                assertEquals(0, hot[s >>> 6] & (1L << s), "bits past the batch stay clear");
                assertEquals(0, parallel[s >>> 6] & (1L << s), "bits past the batch stay clear (parallel)");
            }
            assertEquals(expectedCount, count);
        }
    }
}
