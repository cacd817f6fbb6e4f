package dev.ember.cache.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DedupedIdsTest {

    @Test
    void matchesALinkedHashMapReferenceOnRandomBagsReusingOneInstance() {
        SplittableRandom rnd = new SplittableRandom(42);
        DedupedIds dedup = new DedupedIds();
        PooledBatch batch = new PooledBatch(4, 2);
        for (int round = 0; round < 200; round++) {
            int bags = 1 + rnd.nextInt(300);
            long range = 1 + rnd.nextInt(round % 2 == 0 ? 50 : 100_000);
            batch.clear();
            Map<Long, List<Integer>> expected = new LinkedHashMap<>();
            for (int b = 0; b < bags; b++) {
                int size = rnd.nextInt(4);
                for (int k = 0; k < size; k++) {
                    long id = rnd.nextLong(range) * (round % 3 == 0 ? -7919L : 1L);
                    batch.add(id);
                    expected.computeIfAbsent(id, x -> new ArrayList<>()).add(b);
                }
                batch.endBag();
            }
            dedup.build(batch);
            assertEquals(expected.size(), dedup.uniqueCount());
            int u = 0;
            for (Map.Entry<Long, List<Integer>> e : expected.entrySet()) {
                assertEquals((long) e.getKey(), dedup.unique()[u]);
                List<Integer> got = new ArrayList<>();
                for (int o = dedup.occStart()[u]; o < dedup.occStart()[u + 1]; o++) {
                    got.add(dedup.occBag()[o]);
                }
                assertEquals(e.getValue(), got, "occurrences of id " + e.getKey());
                u++;
            }
        }
    }
}
