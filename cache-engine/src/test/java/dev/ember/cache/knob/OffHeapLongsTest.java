package dev.ember.cache.knob;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The knob's off-heap scratch against {@link Arrays#sort} on random values with fixed seeds. */
class OffHeapLongsTest {
    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {0, 1, 2, 7, 100, 5_000, 70_000})
    void selectingThenSortingGivesTheSmallestInOrder(int n) {
        SplittableRandom random = new SplittableRandom(n * 31L + 5);
        for (int round = 0; round < 4; round++) {
            long[] values = new long[n];
            for (int i = 0; i < n; i++) {
                values[i] = switch (round) {
                    case 0 -> random.nextLong(Long.MAX_VALUE); // every bit in play
                    case 1 -> random.nextLong(50); // many duplicates
                    case 2 -> ((long) random.nextInt(1 << 20) << 32) | i; // the knob's keys: score part, row
                    default -> 12345L << 40; // one value: every pass finds one digit
                };
            }
            int keep = n == 0 ? 0 : random.nextInt(n + 1);
            long[] want = values.clone();
            Arrays.sort(want);
            try (OffHeapLongs a = OffHeapLongs.allocate(n); OffHeapLongs tmp = OffHeapLongs.allocate(keep)) {
                for (int i = 0; i < n; i++) {
                    a.set(i, values[i]);
                }
                a.selectSmallest(n, keep);
                a.sort(keep, tmp, 63);
                long[] got = new long[keep];
                for (int i = 0; i < keep; i++) {
                    got[i] = a.get(i);
                }
                assertArrayEquals(Arrays.copyOf(want, keep), got, "round " + round + ", keep " + keep);
            }
        }
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {3, 1_000, 100_000})
    void rowIdsSortOnTheirLow32Bits(int n) {
        SplittableRandom random = new SplittableRandom(n);
        long[] values = new long[n];
        try (OffHeapLongs a = OffHeapLongs.allocate(n); OffHeapLongs tmp = OffHeapLongs.allocate(n)) {
            for (int i = 0; i < n; i++) {
                values[i] = random.nextInt(Integer.MAX_VALUE);
                a.set(i, values[i]);
            }
            a.sort(n, tmp, 32);
            Arrays.sort(values);
            long[] got = new long[n];
            for (int i = 0; i < n; i++) {
                got[i] = a.get(i);
            }
            assertArrayEquals(values, got);
        }
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {10})
    void aScratchTooSmallIsRefused(int n) {
        try (OffHeapLongs a = OffHeapLongs.allocate(n); OffHeapLongs tmp = OffHeapLongs.allocate(n - 1)) {
            assertThrows(IllegalArgumentException.class, () -> a.sort(n, tmp, 63));
        }
    }
}
