package dev.ember.jmh.model;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.ZipfSampler;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Batches of the Criteo Kaggle shape for a training step, drawn once: per batch one id per table
 * per sample (a Zipf law over ranks, exponent {@value #ZIPF}, ranks spread over the table by a
 * fixed bijection so hot rows are not neighbours), dense features as {@code log(1 + x)} and
 * labels. {@link #prepare} is the host work a trainer does for each batch before the device can
 * run it: fill every table's {@link PooledBatch} and deduplicate it.
 *
 * <pre>
 *  ids[b][t]  long[batch]           table t's id of each sample of batch b
 *  dense[b]   float[batch][13]      labels[b]  float[batch]
 *  pooled[t], dedup[t]              the prepared batch (reused: preparing allocates nothing)
 * </pre>
 */
final class KaggleStepBatches {
    /** Criteo Kaggle (DLRM's preprocessing) cardinalities of the 26 categorical features. */
    static final long[] KAGGLE_ROWS = {1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194,
        27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572};
    static final int DIM = 16;
    static final int DENSE = 13;
    static final double ZIPF = 1.05;

    private final int batch;
    private final List<TableSpec> specs = new ArrayList<>();
    private final long[][][] ids;
    private final float[][] dense;
    private final float[][] labels;
    private final PooledBatch[] pooled;
    private final DedupedIds[] dedup;

    /**
     * @param batch samples per batch
     * @param count distinct batches to cycle through
     * @param scale table sizes as a fraction of Kaggle's (1: the real cardinalities)
     */
    KaggleStepBatches(int batch, int count, double scale, long seed) {
        if (batch < 1 || count < 1) {
            throw new IllegalArgumentException("need batch >= 1 and count >= 1, got " + batch + ", " + count);
        }
        if (!(scale > 0 && scale <= 1)) {
            throw new IllegalArgumentException("table scale must be in (0, 1], got " + scale + " (set -p scale)");
        }
        this.batch = batch;
        int tables = KAGGLE_ROWS.length;
        ids = new long[count][tables][batch];
        pooled = new PooledBatch[tables];
        dedup = new DedupedIds[tables];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int t = 0; t < tables; t++) {
            long rows = Math.max(1, (long) Math.ceil(KAGGLE_ROWS[t] * scale));
            specs.add(new TableSpec("C" + (t + 1), rows, DIM, Optimizer.SGD));
            ZipfSampler zipf = new ZipfSampler(rows, ZIPF);
            long stride = coprimeStride(rows, rnd);
            for (int b = 0; b < count; b++) {
                for (int i = 0; i < batch; i++) {
                    ids[b][t][i] = (zipf.sample(rnd) - 1) * stride % rows;
                }
            }
            pooled[t] = new PooledBatch(batch, batch);
            dedup[t] = new DedupedIds();
        }
        dense = new float[count][batch * DENSE];
        labels = new float[count][batch];
        for (int b = 0; b < count; b++) {
            for (int i = 0; i < dense[b].length; i++) {
                dense[b][i] = (float) Math.log1p(rnd.nextInt(1000));
            }
            for (int i = 0; i < batch; i++) {
                labels[b][i] = rnd.nextInt(4) == 0 ? 1f : 0f;
            }
        }
        // Sizes every PooledBatch and DedupedIds for the batch, so prepare() never allocates.
        prepare(0);
    }

    int batch() {
        return batch;
    }

    int count() {
        return ids.length;
    }

    int tables() {
        return specs.size();
    }

    List<TableSpec> specs() {
        return specs;
    }

    /** The host work for batch {@code b}: each table's ids into its PooledBatch, then deduplicated. */
    void prepare(int b) {
        long[][] batchIds = ids[b];
        for (int t = 0; t < batchIds.length; t++) {
            dedup[t].build(pooled[t].setOneHot(batchIds[t], batch));
        }
    }

    /** The prepared batch's lookups of table {@code t}. */
    PooledBatch pooled(int t) {
        return pooled[t];
    }

    /** The prepared batch's deduplicated ids of table {@code t}. */
    DedupedIds dedup(int t) {
        return dedup[t];
    }

    float[] dense(int b) {
        return dense[b];
    }

    float[] labels(int b) {
        return labels[b];
    }

    /** Unique rows over all tables of the prepared batch. */
    long uniqueRows() {
        long n = 0;
        for (DedupedIds d : dedup) {
            n += d.uniqueCount();
        }
        return n;
    }

    /** A multiplier coprime with {@code rows}: rank {@code r} goes to row {@code r * stride mod rows}. */
    private static long coprimeStride(long rows, SplittableRandom rnd) {
        if (rows <= 2) {
            return 1;
        }
        while (true) {
            long s = 1 + rnd.nextLong(rows - 1);
            if (gcd(s, rows) == 1) {
                return s;
            }
        }
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
