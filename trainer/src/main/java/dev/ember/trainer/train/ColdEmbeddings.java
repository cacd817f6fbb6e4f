package dev.ember.trainer.train;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.store.Store;
import dev.ember.trainer.data.Batch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The {@code baseline} mode's path: every row in the cold tier, gathered and updated on the host
 * (the paper's CPU-embeddings baseline). Per table and batch: dedup the ids, gather the unique
 * rows once into an off-heap buffer, pool bags in bag order; the update applies per-bag
 * gradients through the same dedup with the table's optimizer.
 *
 * <p>Buffers are sized for the largest batch seen and reused: a step allocates nothing once warm.
 */
public final class ColdEmbeddings implements EmbeddingPath {
    private final Store store;
    private final int tables;
    private final PooledBatch[] bags;
    private final DedupedIds[] dedup;
    private final ByteBuffer[] rows;
    private final ByteBuffer[] grads;
    private final int[] bagCount;
    private final PathCounters counters = new PathCounters();

    public ColdEmbeddings(Store store, int tables, int maxBatch) {
        if (store.tables().size() < tables) {
            throw new IllegalArgumentException("store " + store.directory() + " has " + store.tables().size()
                    + " tables, the data needs " + tables);
        }
        this.store = store;
        this.tables = tables;
        bags = new PooledBatch[tables];
        dedup = new DedupedIds[tables];
        rows = new ByteBuffer[tables];
        grads = new ByteBuffer[tables];
        bagCount = new int[tables];
        for (int t = 0; t < tables; t++) {
            bags[t] = new PooledBatch(maxBatch, maxBatch);
            dedup[t] = new DedupedIds();
            rows[t] = direct((long) maxBatch * store.tables().get(t).bytesPerRow());
            grads[t] = direct((long) maxBatch * store.tables().get(t).spec().dim() * Float.BYTES);
        }
    }

    @Override
    public void lookup(Batch batch, float[][] pooled) {
        long start = System.nanoTime();
        gather(batch, pooled, true);
        counters.coldGatherNanos.add(System.nanoTime() - start);
    }

    @Override
    public void lookupForward(Batch batch, float[][] pooled) {
        gather(batch, pooled, false);
    }

    private void gather(Batch batch, float[][] pooled, boolean count) {
        for (int t = 0; t < tables; t++) {
            ColdTable table = store.tables().get(t);
            PooledBatch pb = fill(bags[t], batch, t);
            DedupedIds d = dedup[t].build(pb);
            int n = d.uniqueCount();
            ByteBuffer buf = rows[t] = ensure(rows[t], (long) n * table.bytesPerRow());
            table.gather(d, buf);
            pool(pb, d, buf, table.bytesPerRow() / Float.BYTES, table.spec().dim(), pooled[t]);
            bagCount[t] = pb.bagCount();
            if (count) {
                counters.coldIds.add(n);
                counters.hostGathers.add(n);
            }
        }
    }

    @Override
    public void update(float[][] g, float learningRate) {
        for (int t = 0; t < tables; t++) {
            ColdTable table = store.tables().get(t);
            int floats = bagCount[t] * table.spec().dim();
            ByteBuffer buf = grads[t] = ensure(grads[t], (long) floats * Float.BYTES);
            buf.clear();
            buf.asFloatBuffer().put(g[t], 0, floats);
            table.apply(dedup[t], buf, learningRate, Trainer.EMBEDDING_EPS);
            if (t == 0) {
                counters.samples.add(bagCount[0]);
                counters.coldBatches.increment();
            }
        }
    }

    /** Copies table {@code t}'s bags of {@code batch} into {@code out} as long ids. */
    static PooledBatch fill(PooledBatch out, Batch batch, int t) {
        return out.setBags(batch.ids(t), batch.offsets(t), batch.size());
    }

    /**
     * Sums each bag's rows in bag order into {@code out} (bag-major, {@code dim} floats a bag).
     * {@code rows} holds the unique rows, {@code rowFloats} apart; only the first {@code dim} are weights.
     */
    static void pool(PooledBatch pb, DedupedIds d, ByteBuffer rows, int rowFloats, int dim, float[] out) {
        FloatBuffer f = rows.duplicate().order(ByteOrder.LITTLE_ENDIAN).clear().asFloatBuffer();
        int[] uniqueOf = d.uniqueOf();
        int[] off = pb.offsets();
        for (int b = 0, n = pb.bagCount(); b < n; b++) {
            int o = b * dim;
            for (int c = 0; c < dim; c++) {
                out[o + c] = 0.0f;
            }
            for (int i = off[b]; i < off[b + 1]; i++) {
                int base = uniqueOf[i] * rowFloats;
                for (int c = 0; c < dim; c++) {
                    out[o + c] += f.get(base + c);
                }
            }
        }
    }

    static ByteBuffer direct(long bytes) {
        return ByteBuffer.allocateDirect((int) Math.max(64, bytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    static ByteBuffer ensure(ByteBuffer buf, long bytes) {
        if (buf.capacity() < bytes) {
            buf = direct(Math.max(bytes, 2L * buf.capacity()));
        }
        buf.clear().limit((int) bytes);
        return buf;
    }

    @Override
    public PathCounters counters() {
        return counters;
    }

    @Override
    public void close() {
        // The store belongs to the caller.
    }
}
