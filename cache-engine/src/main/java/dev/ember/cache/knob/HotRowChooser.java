package dev.ember.cache.knob;

import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.popularity.RowScores;
import dev.ember.cache.table.TableSpec;
import java.util.Arrays;
import java.util.List;
import org.roaringbitmap.PeekableIntIterator;
import org.roaringbitmap.RoaringBitmap;

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
        long[][] keys = new long[n][];
        double[][] raw = new double[n][]; // each kept row's score without the boost, in key order
        int[] counts = new int[n];
        double[] totals = new double[n];
        for (int t = 0; t < n; t++) {
            rowBytes[t] = tables.get(t).layout().bytesPerRow();
            totals[t] = scores.total(t);
        }
        rankTables.run(n, t -> {
            long cap = Math.min(scores.scoredRows(t), budgetBytes / rowBytes[t]);
            long[] k = new long[(int) scores.scoredRows(t)];
            int[] c = {0};
            PeekableIntIterator hot = incumbent.rowIterator(t);
            scores.forEachScored(t, (row, s) -> {
                if (s > 0) {
                    // Scored rows come in ascending order: walk the incumbent's rows alongside.
                    hot.advanceIfNeeded(row);
                    boolean incumbentRow = hot.hasNext() && hot.peekNext() == row;
                    k[c[0]++] = pack((float) (incumbentRow ? hysteresis.boost(s) : s), row);
                }
            });
            counts[t] = (int) Math.min(cap, c[0]);
            long[] kept = keepSmallest(k, c[0], counts[t]);
            double[] r = new double[kept.length];
            for (int i = 0; i < kept.length; i++) {
                r[i] = scores.score(t, (int) kept[i]); // read here, in parallel, not in the merge
            }
            keys[t] = kept;
            raw[t] = r;
        });
        // Greedy merge: a binary max-heap of tables by the gain of their next row.
        int[] next = new int[n];
        double[] chosenScore = new double[n];
        int[] heap = new int[n];
        double[] gain = new double[n];
        int heapSize = 0;
        for (int t = 0; t < n; t++) {
            if (counts[t] > 0) {
                gain[t] = gain(mode, keys[t][0], chosenScore[t], rowBytes[t]);
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
            chosenScore[t] += raw[t][next[t]];
            next[t]++;
            if (next[t] == counts[t]) {
                heap[0] = heap[--heapSize];
            } else {
                gain[t] = gain(mode, keys[t][next[t]], chosenScore[t], rowBytes[t]);
            }
            siftDown(heap, heapSize, 0, gain);
        }
        RoaringBitmap[] maps = new RoaringBitmap[n];
        rankTables.run(n, t -> {
            int[] rows = new int[next[t]];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = (int) keys[t][i];
            }
            Arrays.sort(rows);
            maps[t] = RoaringBitmap.bitmapOf(rows);
        });
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

    /** The {@code keep} smallest of {@code k[0..n)}, sorted ascending (quickselect, then sort). */
    private static long[] keepSmallest(long[] k, int n, int keep) {
        if (keep < n) {
            select(k, 0, n - 1, keep);
        }
        long[] out = Arrays.copyOf(k, keep);
        Arrays.sort(out);
        return out;
    }

    /** Rearranges k[lo..hi] so that its {@code keep} smallest come first (Hoare quickselect). */
    private static void select(long[] k, int lo, int hi, int keep) {
        long seed = 0x2545F4914F6CDD1DL;
        while (lo < hi) {
            seed = seed * 6364136223846793005L + 1442695040888963407L;
            long pivot = k[lo + (int) Long.remainderUnsigned(seed >>> 1, hi - lo + 1)];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (k[i] < pivot) {
                    i++;
                }
                while (k[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    long tmp = k[i];
                    k[i] = k[j];
                    k[j] = tmp;
                    i++;
                    j--;
                }
            }
            // Now k[lo..j] <= pivot <= k[i..hi], and elements between j and i equal the pivot.
            if (keep - 1 <= j) {
                hi = j;
            } else if (keep - 1 >= i) {
                lo = i;
            } else {
                return;
            }
        }
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
