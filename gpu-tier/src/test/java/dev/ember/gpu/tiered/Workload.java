package dev.ember.gpu.tiered;

import dev.ember.cache.batch.PooledBatch;
import java.util.SplittableRandom;

/**
 * A fixed random sequence of batches over several tables: skewed multi-hot bags (1-3 ids, a
 * power law over rows so some rows are hot) and per-bag gradients, each a pure function of
 * (seed, step), so any number of runs see the same inputs whatever their lookahead.
 */
final class Workload {
    final long seed;
    final long[] rows;
    final int bags;
    final int dim;

    Workload(long seed, long[] rows, int bags, int dim) {
        this.seed = seed;
        this.rows = rows;
        this.bags = bags;
        this.dim = dim;
    }

    int maxIds() {
        return 3 * bags;
    }

    /** Fills table {@code t}'s bags of batch {@code step}. */
    void fill(long step, int t, PooledBatch out) {
        SplittableRandom r = new SplittableRandom(seed * 1_000_003L + step * 131L + t);
        out.clear();
        for (int b = 0; b < bags; b++) {
            int n = 1 + r.nextInt(3);
            for (int i = 0; i < n; i++) {
                double u = r.nextDouble();
                long id = (long) (rows[t] * Math.pow(u, 3.0));
                if (r.nextInt(8) == 0) {
                    id = r.nextLong(rows[t]); // a uniform tail
                }
                out.add(Math.min(id, rows[t] - 1));
            }
            out.endBag();
        }
    }

    /** The per-bag gradients of batch {@code step} (bags x dim per table). */
    float[][] grads(long step, int tables) {
        SplittableRandom r = new SplittableRandom(~seed * 7_777_777L + step);
        float[][] g = new float[tables][bags * dim];
        for (float[] a : g) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (r.nextDouble() * 2 - 1);
            }
        }
        return g;
    }
}
