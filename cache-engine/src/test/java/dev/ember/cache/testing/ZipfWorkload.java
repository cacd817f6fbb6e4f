package dev.ember.cache.testing;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.TableSpec;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Criteo-like lookups: per table a Zipf over ranks, mapped to rows by an affine permutation
 * {@code row = (a * (rank - 1) + b) mod rows}. {@link #drift()} draws a new permutation for every
 * table, so the hot rows move while the shape of the distribution stays.
 */
public final class ZipfWorkload {
    private final List<TableSpec> tables;
    private final ZipfSampler[] samplers;
    private final long[] a;
    private final long[] b;
    private final SplittableRandom rnd;
    private int[][] ranks = new int[0][];
    private final SplittableRandom mappings;

    public ZipfWorkload(List<TableSpec> tables, double exponent, long seed) {
        this(tables, filled(tables.size(), exponent), seed);
    }

    /** One Zipf exponent per table. */
    public ZipfWorkload(List<TableSpec> tables, double[] exponents, long seed) {
        this.tables = List.copyOf(tables);
        int n = tables.size();
        samplers = new ZipfSampler[n];
        a = new long[n];
        b = new long[n];
        for (int t = 0; t < n; t++) {
            samplers[t] = new ZipfSampler(tables.get(t).rows(), exponents[t]);
        }
        rnd = new SplittableRandom(seed);
        mappings = new SplittableRandom(seed ^ 0x5DEECE66DL);
        drift();
    }

    /** New rank-to-row permutations: the hot rows move. */
    public void drift() {
        for (int t = 0; t < a.length; t++) {
            long rows = tables.get(t).rows();
            long x = rows == 1 ? 1 : 1 + mappings.nextLong(rows - 1);
            while (gcd(x, rows) != 1) {
                x = x + 1 == rows ? 1 : x + 1;
            }
            a[t] = x;
            b[t] = mappings.nextLong(rows);
        }
    }

    /** The row of {@code rank} (1-based) in table t under the current permutation. */
    public long row(int t, long rank) {
        long rows = tables.get(t).rows();
        return (a[t] * (rank - 1) + b[t]) % rows; // rows < 2^31, so the product fits a long
    }

    /** Fills one batch of {@code samples} one-hot samples ({@code perTable[t]} gets table t). */
    public void fill(PooledBatch[] perTable, int samples) {
        if (ranks.length != perTable.length || ranks[0].length < samples) {
            ranks = new int[perTable.length][samples];
        }
        for (int t = 0; t < perTable.length; t++) {
            PooledBatch batch = perTable[t].clear();
            for (int s = 0; s < samples; s++) {
                long rank = samplers[t].sample(rnd);
                ranks[t][s] = (int) rank;
                batch.add(row(t, rank)).endBag();
            }
        }
    }

    /** The Zipf rank (1-based) behind sample {@code s} of table {@code t} in the last {@link #fill}. */
    public int rank(int t, int s) {
        return ranks[t][s];
    }

    /** Fresh batches for this workload's tables. */
    public PooledBatch[] newBatch(int samples) {
        PooledBatch[] b = new PooledBatch[tables.size()];
        for (int t = 0; t < b.length; t++) {
            b[t] = new PooledBatch(samples, samples);
        }
        return b;
    }

    public ZipfSampler sampler(int t) {
        return samplers[t];
    }

    private static double[] filled(int n, double v) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static long gcd(long x, long y) {
        while (y != 0) {
            long r = x % y;
            x = y;
            y = r;
        }
        return x;
    }
}
