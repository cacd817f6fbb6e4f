package dev.ember.cache.tiered;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RowIndexTest {

    /**
     * Batches of varying size, a large one among small ones (as when the first batches miss nearly
     * every id): every build answers exactly as a HashMap of its rows, present rows and absent.
     */
    @Test
    void eachBuildAnswersAsAHashMapOfItsRowsWhateverCameBefore() {
        SplittableRandom rnd = new SplittableRandom(3);
        RowIndex index = new RowIndex();
        assertEquals(-1, index.get(7), "empty before the first build");
        int[] sizes = {10, 5_000, 3, 0, 700, 40_000, 1, 64};
        for (int size : sizes) {
            Map<Long, Integer> reference = new HashMap<>();
            long[] rows = new long[size];
            int n = 0;
            while (n < size) {
                long row = rnd.nextInt(4) == 0 ? 8L * rnd.nextInt(100_000) : rnd.nextLong(1L << 40); // strided and spread rows
                if (reference.putIfAbsent(row, n) == null) {
                    rows[n++] = row;
                }
            }
            index.build(rows, n);
            for (int i = 0; i < n; i++) {
                assertEquals(i, index.get(rows[i]));
            }
            for (int i = 0; i < 2_000; i++) {
                long probe = rnd.nextInt(2) == 0 ? 8L * rnd.nextInt(100_000) : rnd.nextLong(1L << 40);
                assertEquals(reference.getOrDefault(probe, -1), index.get(probe), "row " + probe + " after a build of " + size);
            }
        }
    }
}
