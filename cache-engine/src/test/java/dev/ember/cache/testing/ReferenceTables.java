package dev.ember.cache.testing;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.RowInit;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.RowUpdate;
import dev.ember.cache.table.TableSpec;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The plain fp32 reference of a store's tables: a HashMap of rows per table, initial values from
 * {@link RowInit}, gradients summed bag by bag in ascending batch position.
 */
public final class ReferenceTables {
    private final List<TableSpec> specs;
    private final long seed;
    private final Map<String, Map<Long, float[]>> rows = new HashMap<>();

    public ReferenceTables(List<TableSpec> specs, long seed) {
        this.specs = specs;
        this.seed = seed;
        specs.forEach(s -> rows.put(s.name(), new HashMap<>()));
    }

    private ReferenceTables(ReferenceTables other) {
        this.specs = other.specs;
        this.seed = other.seed;
        other.rows.forEach((t, m) -> {
            Map<Long, float[]> copy = new HashMap<>();
            m.forEach((k, v) -> copy.put(k, v.clone()));
            rows.put(t, copy);
        });
    }

    public ReferenceTables copy() {
        return new ReferenceTables(this);
    }

    public float[] row(String table, long id) {
        float[] r = rows.get(table).get(id);
        if (r != null) {
            return r.clone();
        }
        TableSpec spec = spec(table);
        RowLayout layout = spec.layout();
        float[] init = new float[layout.floatsPerRow()];
        RowInit.fill(seed, specs.indexOf(spec), id, layout, RowInit.scale(spec.rows()), init, 0);
        return init;
    }

    public int stored(String table) {
        return rows.get(table).size();
    }

    /** Applies per-bag gradients ({@code dim} floats per bag) of {@code batch}. */
    public void apply(String table, PooledBatch batch, ByteBuffer grads, float lr, float eps) {
        TableSpec spec = spec(table);
        int dim = spec.dim();
        Map<Long, float[]> sums = new java.util.LinkedHashMap<>();
        for (int b = 0; b < batch.bagCount(); b++) {
            for (int i = batch.offsets()[b]; i < batch.offsets()[b + 1]; i++) {
                float[] g = sums.computeIfAbsent(batch.id(i), k -> new float[dim]);
                for (int c = 0; c < dim; c++) {
                    g[c] = g[c] + grads.getFloat((b * dim + c) * 4);
                }
            }
        }
        sums.forEach((id, g) -> {
            float[] r = row(table, id);
            RowUpdate.apply(spec.layout(), r, g, lr, eps);
            rows.get(table).put(id, r);
        });
    }

    /** Stores a whole row (weights and state), as the hot tier hands rows back. */
    public void put(String table, long id, float[] row) {
        rows.get(table).put(id, row.clone());
    }

    public TableSpec spec(String table) {
        for (TableSpec s : specs) {
            if (s.name().equals(table)) {
                return s;
            }
        }
        throw new IllegalArgumentException(table);
    }
}
