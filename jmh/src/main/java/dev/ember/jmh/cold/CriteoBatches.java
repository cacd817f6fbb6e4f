package dev.ember.jmh.cold;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;

import java.util.SplittableRandom;

/**
 * Batches shaped like Criteo Kaggle: 26 tables with its cardinalities, one id per table per sample,
 * ids drawn per table from a Zipf distribution (rank r has weight 1/r^s) and spread over the table
 * by a fixed bijection, so hot rows are not neighbours in memory. Deduplicated once, up front:
 * every contender gets the same ids and the same dedup.
 */
final class CriteoBatches {
    /** Criteo Kaggle (DLRM's day-split preprocessing) cardinalities of the 26 categorical features. */
    static final long[] KAGGLE_ROWS = {
            1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194,
            27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572};

    final long[] rows;
    /** [batch][table] */
    final PooledBatch[][] batches;
    final DedupedIds[][] deduped;

    /**
     * @param rowCap largest table to use (0: none); caps the cardinalities where memory is small
     */
    CriteoBatches(int batchCount, int batchSize, double exponent, long rowCap, long seed) {
        int tables = KAGGLE_ROWS.length;
        rows = new long[tables];
        for (int t = 0; t < tables; t++) {
            rows[t] = rowCap > 0 ? Math.min(rowCap, KAGGLE_ROWS[t]) : KAGGLE_ROWS[t];
        }
        batches = new PooledBatch[batchCount][tables];
        deduped = new DedupedIds[batchCount][tables];
        SplittableRandom rnd = new SplittableRandom(seed);
        long[] ids = new long[batchSize];
        for (int t = 0; t < tables; t++) {
            double[] cdf = zipfCdf(rows[t], exponent);
            long stride = coprimeStride(rows[t]);
            for (int b = 0; b < batchCount; b++) {
                for (int i = 0; i < batchSize; i++) {
                    long rank = search(cdf, rnd.nextDouble());
                    ids[i] = Math.floorMod(rank * stride, rows[t]);
                }
                batches[b][t] = new PooledBatch(batchSize, batchSize).setOneHot(ids, batchSize);
                deduped[b][t] = new DedupedIds().build(batches[b][t]);
            }
        }
    }

    int tables() {
        return rows.length;
    }

    /** Unique ids over all tables of batch {@code b}: the rows one gather moves. */
    long uniqueRows(int b) {
        long n = 0;
        for (DedupedIds d : deduped[b]) {
            n += d.uniqueCount();
        }
        return n;
    }

    private static double[] zipfCdf(long n, double s) {
        double[] cdf = new double[(int) n];
        double sum = 0;
        for (int r = 0; r < n; r++) {
            sum += 1.0 / Math.pow(r + 1, s);
            cdf[r] = sum;
        }
        for (int r = 0; r < n; r++) {
            cdf[r] /= sum;
        }
        return cdf;
    }

    private static long search(double[] cdf, double u) {
        int lo = 0;
        int hi = cdf.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cdf[mid] < u) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** A large stride coprime with {@code n}: {@code rank * stride mod n} is a bijection. */
    private static long coprimeStride(long n) {
        long s = 2654435761L % Math.max(1, n);
        while (n > 1 && gcd(s, n) != 1) {
            s++;
        }
        return Math.max(1, s);
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
