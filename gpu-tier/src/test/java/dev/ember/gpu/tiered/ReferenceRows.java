package dev.ember.gpu.tiered;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.RowInit;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.RowUpdate;
import dev.ember.cache.table.TableSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The plain reference: one HashMap of rows per table, no tiers. Pools {@code 0 + r0 + r1 ...} in
 * bag order and sums a row's gradient over its bags in {@link DedupedIds} order, with
 * {@link RowUpdate}'s arithmetic.
 */
final class ReferenceRows {
    private final List<TableSpec> specs;
    private final long seed;
    private final Map<Long, float[]>[] rows;

    @SuppressWarnings("unchecked")
    ReferenceRows(List<TableSpec> specs, long seed) {
        this.specs = specs;
        this.seed = seed;
        this.rows = new Map[specs.size()];
        for (int t = 0; t < rows.length; t++) {
            rows[t] = new HashMap<>();
        }
    }

    float[] row(int t, long id) {
        return rows[t].computeIfAbsent(id, k -> {
            RowLayout l = specs.get(t).layout();
            float[] r = new float[l.floatsPerRow()];
            RowInit.fill(seed, t, k, l, RowInit.scale(specs.get(t).rows()), r, 0);
            return r;
        });
    }

    float[] pool(int t, PooledBatch b) {
        int dim = specs.get(t).dim();
        float[] out = new float[b.bagCount() * dim];
        int[] off = b.offsets();
        for (int bag = 0; bag < b.bagCount(); bag++) {
            for (int c = 0; c < dim; c++) {
                float s = 0.0f;
                for (int i = off[bag]; i < off[bag + 1]; i++) {
                    s += row(t, b.id(i))[c];
                }
                out[bag * dim + c] = s;
            }
        }
        return out;
    }

    void apply(int t, PooledBatch b, float[] grads, float lr, float eps) {
        int dim = specs.get(t).dim();
        DedupedIds d = new DedupedIds().build(b);
        for (int u = 0; u < d.uniqueCount(); u++) {
            float[] g = new float[dim];
            for (int o = d.occStart()[u]; o < d.occStart()[u + 1]; o++) {
                int bag = d.occBag()[o];
                for (int c = 0; c < dim; c++) {
                    g[c] = g[c] + grads[bag * dim + c];
                }
            }
            RowUpdate.apply(specs.get(t).layout(), row(t, d.unique()[u]), g, lr, eps);
        }
    }

    Map<Long, float[]> table(int t) {
        return rows[t];
    }
}
