package dev.ember.trainer.train;

import dev.ember.trainer.data.Batch;

/**
 * Where a training mode's embedding rows live: the pooled lookups of a batch, and the update of
 * the rows that batch used. Implementations differ only in where rows live, never in arithmetic:
 * a bag sums its rows in bag order ({@code 0 + r0 + r1 + ...}) and a row's gradient is the sum of
 * its bags' gradients in ascending batch position (see {@link dev.ember.cache.batch.DedupedIds}).
 */
public interface EmbeddingPath extends AutoCloseable {

    /** Pools each table's bags of {@code batch} into {@code pooled[t]} ({@code batch.size() x dim}, row-major). */
    void lookup(Batch batch, float[][] pooled);

    /** Applies per-bag gradients {@code grads[t]} ({@code size x dim}) to the rows of the last {@link #lookup}. */
    void update(float[][] grads, float learningRate);

    /**
     * A lookup that will not be followed by {@link #update} (evaluation). It leaves the training
     * counters alone, so hit rates and host gathers describe training only.
     */
    void lookupForward(Batch batch, float[][] pooled);

    /**
     * Whether pooled vectors and their gradients stay on the device, passed straight to the dense
     * backend: then {@link #lookup}, {@link #lookupForward} and {@link #update} ignore their host
     * arrays and the caller skips the backend's host copies of them.
     */
    default boolean poolsOnDevice() {
        return false;
    }

    /** Whether the batch of the last {@link #update} had every id hot (false on host-only paths). */
    default boolean lastBatchAllHot() {
        return false;
    }

    /** Batches the path wants to see ahead of their {@link #lookup} (0: none). */
    default int lookahead() {
        return 0;
    }

    /**
     * Announces the next training batch not yet announced, at most {@link #lookahead()} ahead of
     * the one being trained; the batch must stay unchanged until its {@link #lookup}.
     */
    default void prefetch(Batch upcoming) {
    }

    /** Counters of training lookups since the start: host row gathers, hot and cold ids served. */
    PathCounters counters();

    @Override
    void close();
}
