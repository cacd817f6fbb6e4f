package dev.ember.cache.knob;

import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.popularity.RowScores;
import dev.ember.cache.table.TableSpec;
import java.util.List;
import org.roaringbitmap.PeekableIntIterator;
import org.roaringbitmap.RoaringBitmap;
import org.roaringbitmap.RoaringBitmapWriter;

/**
 * Chooses the hot rows across all tables within a byte budget.
 *
 * <p>Per table, every scored row becomes one packed long, sorted ascending:
 * <pre>
 *  63      62            32 31           0
 *  | 0 | MAX - floatBits(s') |     row     |      ascending = score descending, then row ascending
 * </pre>
 * where {@code s'} is the row's score, raised by {@link Hysteresis#boost} if the row is in the
 * incumbent hot set (a challenger must beat an incumbent by the margin to displace it). Scores
 * are ranked as fp32; rows whose scores agree to fp32 precision tie and go by row id.
 *
 * <p>Then a greedy merge over tables takes the row with the largest gain per byte
 * ({@link KnobMode}) while it fits; a table whose next row does not fit drops out (its rows only
 * get worse and the room left only shrinks). Ties between tables go to the lower table index.
 * Only a table's best {@code budget / rowBytes} rows can ever be taken, so only those are kept
 * before sorting (a selection on the packed keys), which bounds the sort by the budget. Tables
 * are independent until the merge: {@link #choose(RowScores, HotSet, long, KnobMode,
 * DecayingCounters.TableRunner)} ranks them on the threads given (a tiered store's counting
 * workers, idle while the counts are frozen for the evaluation); the choice is the same.
 */
public final class HotRowChooser {
    private final Hysteresis hysteresis;

    public HotRowChooser(Hysteresis hysteresis) {
        this.hysteresis = java.util.Objects.requireNonNull(hysteresis, "hysteresis");
    }

    public Hysteresis hysteresis() {
        return hysteresis;
    }

    /** Chooses the rows for {@code budgetBytes}; {@code incumbent} gets the hysteresis bonus. */
    public KnobChoice choose(RowScores scores, HotSet incumbent, long budgetBytes, KnobMode mode) {
        return choose(scores, incumbent, budgetBytes, mode, DecayingCounters.TableRunner.HERE);
    }

    /**
     * As above, each table's rows ranked by one task of {@code rankTables} (the scores must allow
     * reading different tables on different threads at once: {@link DecayingCounters} do).
     */
    public KnobChoice choose(RowScores scores, HotSet incumbent, long budgetBytes, KnobMode mode,
                             DecayingCounters.TableRunner rankTables) {
        long start = System.nanoTime();
        List<TableSpec> tables = scores.tables();
        if (!incumbent.tables().equals(tables)) {
            throw new IllegalArgumentException("incumbent hot set is over other tables than the scores");
        }
        int n = tables.size();
        int[] rowBytes = new int[n];
        // Per table, off-heap for this evaluation: every scored row's key, then the kept ones
        // sorted at the front; each kept row's score without the boost, in key order.
        OffHeapLongs[] keys = new OffHeapLongs[n];
        OffHeapLongs[] raw = new OffHeapLongs[n];
        int[] counts = new int[n];
        double[] totals = new double[n];
        for (int t = 0; t < n; t++) {
            rowBytes[t] = tables.get(t).layout().bytesPerRow();
            totals[t] = scores.total(t);
        }
        int[] next = new int[n];
        double[] chosenScore = new double[n];
        RoaringBitmap[] maps = new RoaringBitmap[n];
        try {
            rankTables.run(n, t -> rank(scores, incumbent, t, budgetBytes / rowBytes[t], keys, raw, counts));
            // Greedy merge: a binary max-heap of tables by the gain of their next row.
            int[] heap = new int[n];
            double[] gain = new double[n];
            int heapSize = 0;
            for (int t = 0; t < n; t++) {
                if (counts[t] > 0) {
                    gain[t] = gain(mode, keys[t].get(0), chosenScore[t], rowBytes[t]);
                    heap[heapSize++] = t;
                    siftUp(heap, heapSize - 1, gain);
                }
            }
            long left = budgetBytes;
            while (heapSize > 0) {
                int t = heap[0];
                if (rowBytes[t] > left) {
                    heap[0] = heap[--heapSize];
                    siftDown(heap, heapSize, 0, gain);
                    continue;
                }
                left -= rowBytes[t];
                chosenScore[t] += Double.longBitsToDouble(raw[t].get(next[t]));
                next[t]++;
                if (next[t] == counts[t]) {
                    heap[0] = heap[--heapSize];
                } else {
                    gain[t] = gain(mode, keys[t].get(next[t]), chosenScore[t], rowBytes[t]);
                }
                siftDown(heap, heapSize, 0, gain);
            }
            rankTables.run(n, t -> maps[t] = bitmapOfFirst(keys[t], next[t]));
        } finally {
            for (int t = 0; t < n; t++) {
                if (keys[t] != null) {
                    keys[t].close();
                }
                if (raw[t] != null) {
                    raw[t].close();
                }
            }
        }
        double hitNum = 0;
        double hitDen = 0;
        double allHot = 1;
        for (int t = 0; t < n; t++) {
            hitNum += chosenScore[t];
            hitDen += totals[t];
            allHot *= totals[t] > 0 ? Math.min(1.0, chosenScore[t] / totals[t]) : 1.0;
        }
        HotSet chosen = HotSet.of(incumbent.generation() + 1, tables, maps);
        return new KnobChoice(chosen, budgetBytes, chosen.hotBytes(), hitDen > 0 ? hitNum / hitDen : 0, allHot,
                System.nanoTime() - start, null);
    }

    /**
     * Table {@code t}'s scored rows as keys, the best {@code min(scored, maxRows)} of them sorted
     * at the front ({@code counts[t]}), and their scores without the boost ({@code raw[t]}).
     */
    private void rank(RowScores scores, HotSet incumbent, int t, long maxRows, OffHeapLongs[] keys,
                      OffHeapLongs[] raw, int[] counts) {
        long scored = scores.scoredRows(t);
        OffHeapLongs k = OffHeapLongs.allocate(scored);
        keys[t] = k;
        int[] c = {0};
        PeekableIntIterator hot = incumbent.rowIterator(t);
        scores.forEachScored(t, (row, s) -> {
            if (s > 0) {
                // Scored rows come in ascending order: walk the incumbent's rows alongside.
                hot.advanceIfNeeded(row);
                boolean incumbentRow = hot.hasNext() && hot.peekNext() == row;
                k.set(c[0]++, pack((float) (incumbentRow ? hysteresis.boost(s) : s), row));
            }
        });
        int keep = (int) Math.min(maxRows, c[0]);
        k.selectSmallest(c[0], keep);
        try (OffHeapLongs tmp = OffHeapLongs.allocate(keep)) {
            k.sort(keep, tmp, 63); // keys are >= 0: the score's part is below Integer.MAX_VALUE
        }
        OffHeapLongs r = OffHeapLongs.allocate(keep);
        raw[t] = r;
        for (int i = 0; i < keep; i++) {
            r.set(i, Double.doubleToRawLongBits(scores.score(t, (int) k.get(i)))); // read here, in parallel, not in the merge
        }
        counts[t] = keep;
    }

    /** The rows of the first {@code m} keys as a bitmap (their ids sorted off-heap, then added in order). */
    private static RoaringBitmap bitmapOfFirst(OffHeapLongs keys, int m) {
        try (OffHeapLongs rows = OffHeapLongs.allocate(m); OffHeapLongs tmp = OffHeapLongs.allocate(m)) {
            for (int i = 0; i < m; i++) {
                rows.set(i, keys.get(i) & 0xFFFF_FFFFL);
            }
            rows.sort(m, tmp, 32);
            RoaringBitmapWriter<RoaringBitmap> w = RoaringBitmapWriter.writer().get();
            for (int i = 0; i < m; i++) {
                w.add((int) rows.get(i));
            }
            return w.get();
        }
    }

    /** The packed sort key: ascending order = score descending, then row ascending. */
    static long pack(float score, int row) {
        return ((long) (Integer.MAX_VALUE - Float.floatToIntBits(score)) << 32) | row;
    }

    static float unpackScore(long key) {
        return Float.intBitsToFloat(Integer.MAX_VALUE - (int) (key >>> 32));
    }

    private static double gain(KnobMode mode, long key, double chosen, int bytes) {
        double s = unpackScore(key);
        if (mode == KnobMode.CACHE) {
            return s / bytes;
        }
        return chosen == 0 ? Double.POSITIVE_INFINITY : Math.log1p(s / chosen) / bytes;
    }

    private static boolean before(int a, int b, double[] gain) {
        return gain[a] > gain[b] || (gain[a] == gain[b] && a < b);
    }

    private static void siftUp(int[] heap, int i, double[] gain) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(heap[i], heap[parent], gain)) {
                return;
            }
            int tmp = heap[i];
            heap[i] = heap[parent];
            heap[parent] = tmp;
            i = parent;
        }
    }

    private static void siftDown(int[] heap, int size, int i, double[] gain) {
        while (true) {
            int l = 2 * i + 1;
            if (l >= size) {
                return;
            }
            int best = l + 1 < size && before(heap[l + 1], heap[l], gain) ? l + 1 : l;
            if (!before(heap[best], heap[i], gain)) {
                return;
            }
            int tmp = heap[i];
            heap[i] = heap[best];
            heap[best] = tmp;
            i = best;
        }
    }
}
