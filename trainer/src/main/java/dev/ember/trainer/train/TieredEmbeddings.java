package dev.ember.trainer.train;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.tiered.StepBatch;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.trainer.data.Batch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code cache}, {@code device} and {@code fae} modes' path: every batch through one
 * {@link TieredStore}, which routes each id to its single owner (hot tier on the device, or the
 * cold tier through the host) and keeps the arithmetic of the {@code baseline} path, so the
 * three give bit-identical models on one backend.
 *
 * <p>{@code cache}: batches announced ahead ({@link #prefetch}) are submitted at once, so their
 * misses are read on CPU threads while earlier batches train; rows re-tier at every step
 * boundary. {@code fae}: rows move only when the batch source says so (between its windows),
 * so a batch it classified all-hot makes no host gather, even when announced ahead (the trainer
 * announces only batches of the current window); {@link #expectHot} lets this path count that
 * promise ({@link PathCounters#hotBatchHostGathers}).
 */
public final class TieredEmbeddings implements EmbeddingPath {
    private final TieredStore store;
    private final int tables;
    private final int depth;
    private final boolean moveEachStep;
    private final ArrayDeque<StepBatch> free = new ArrayDeque<>();
    private final ArrayDeque<StepBatch> queued = new ArrayDeque<>();
    private final List<StepBatch> all = new ArrayList<>();
    private final PathCounters counters = new PathCounters();
    private StepBatch current;
    private DeviceHandoff handoff;
    private boolean expectHot;
    private boolean lastAllHot;
    private long step;
    /** Each step batch's source of ids while it is announced. */
    private final java.util.IdentityHashMap<StepBatch, UpcomingIds> upcomingIds = new java.util.IdentityHashMap<>();

    /**
     * @param depth        batches announced ahead of the one trained (cache mode's lookahead)
     * @param moveEachStep whether rows re-tier at every step boundary (false: fae, between windows)
     * @param step         steps already trained (a resumed run)
     */
    public TieredEmbeddings(TieredStore store, int tables, int depth, boolean moveEachStep, long step) {
        if (store.tables().size() < tables) {
            throw new IllegalArgumentException("store has " + store.tables().size() + " tables, the data needs " + tables);
        }
        this.store = store;
        this.tables = tables;
        this.depth = depth;
        this.moveEachStep = moveEachStep;
        this.step = step;
        // More than the batches in flight: an applied batch writes its misses back behind the
        // next steps, and is reused only once the others had their turn.
        if (SPARE_BATCHES < 1 || depth + 1 + SPARE_BATCHES > TieredStore.maxOpenBatches()) {
            throw new IllegalArgumentException("-Dember.spare.batches=" + SPARE_BATCHES + ": must be 1.."
                    + (TieredStore.maxOpenBatches() - depth - 1) + " with a look-ahead of " + depth
                    + " (a tiered store holds at most " + TieredStore.maxOpenBatches() + " batches)");
        }
        for (int i = 0; i <= depth + SPARE_BATCHES; i++) {
            StepBatch b = store.newBatch();
            all.add(b);
            free.add(b);
            upcomingIds.put(b, new UpcomingIds(tables));
        }
    }

    /**
     * Batches beyond those in flight, writing their misses back ({@code -Dember.spare.batches},
     * default 2): more give the write-behind more slack before a submit waits for it (the
     * tiered-store log line's "waits for write-backs"), for a pinned row buffer each.
     */
    static final int SPARE_BATCHES = Integer.getInteger("ember.spare.batches", 2);

    public TieredStore store() {
        return store;
    }

    /**
     * Pooled vectors and gradients go straight between the hot tier and a CUDA dense backend from
     * now on: {@link #lookup} and {@link #update} ignore their host arrays ({@link #poolsOnDevice}).
     */
    void handOffTo(DeviceHandoff handoff) {
        this.handoff = handoff;
    }

    @Override
    public boolean poolsOnDevice() {
        return handoff != null;
    }

    /**
     * Steps whose rows are fully updated, a resumed run's included: one more than the trainer's
     * count when an {@link #update} failed after its rows were applied (while rows moved at the
     * step boundary), which tells a trainer that the step is complete.
     */
    public long stepsApplied() {
        return step;
    }

    /** The batch source's classification of the next batch looked up: all its ids hot. */
    public void expectHot(boolean hot) {
        this.expectHot = hot;
    }

    @Override
    public int lookahead() {
        return depth;
    }

    @Override
    public void prefetch(Batch upcoming) {
        long start = System.nanoTime();
        submitAhead(upcoming);
        counters.prefetchNanos.add(System.nanoTime() - start);
    }

    private void submitAhead(Batch upcoming) {
        if (queued.size() > depth) {
            throw new IllegalStateException("more than " + depth + " batches announced ahead");
        }
        StepBatch b = free.pollFirst();
        // The ids are copied in on the store's host threads; announced, behind this thread, which
        // trains the batches before it meanwhile. The store reads the batch's own UpcomingIds
        // until it joins the announce (the next announce may come first, and joins it then).
        UpcomingIds ids = upcomingIds.get(b);
        ids.batch = upcoming;
        if (ANNOUNCE) {
            store.announce(b, ids);
        } else {
            try {
                store.submit(b, ids);
            } finally {
                ids.batch = null;
            }
        }
        queued.addLast(b);
    }

    /**
     * {@code -Dember.submit.behind=false}: batches announced ahead are submitted on this thread
     * (it waits for their split), not announced behind it ({@link TieredStore#announce}); the
     * same rows either way, for comparing runs.
     */
    static final boolean ANNOUNCE = !"false".equals(System.getProperty("ember.submit.behind"));

    /** The batch being submitted, copied into a step batch's tables by the store's host threads: made once, no closure a submit. */
    private static final class UpcomingIds implements TieredStore.IdSource {
        private final int tables;
        Batch batch;

        UpcomingIds(int tables) {
            this.tables = tables;
        }

        @Override
        public void fill(int table, PooledBatch out) {
            if (table < tables) {
                ColdEmbeddings.fill(out, batch, table);
            } else {
                out.clear(); // a store table the data does not use
            }
        }
    }

    @Override
    public void lookup(Batch batch, float[][] pooled) {
        if (current != null) {
            throw new IllegalStateException("lookup before the last batch's update");
        }
        long start = System.nanoTime();
        if (queued.isEmpty()) {
            submitAhead(batch); // no look-ahead: submitting is part of the lookup
        }
        StepBatch b = queued.pollFirst();
        long gatherStart = System.nanoTime();
        gather(b, pooled);
        if (b.coldIds() > 0) {
            counters.coldGatherNanos.add(System.nanoTime() - gatherStart);
        }
        counters.hotIds.add(b.hotIds());
        counters.coldIds.add(b.coldIds());
        counters.hostGathers.add(b.coldIds());
        counters.lookupNanos.add(System.nanoTime() - start);
        current = b;
    }

    @Override
    public void update(float[][] grads, float learningRate) {
        StepBatch b = current;
        if (b == null) {
            throw new IllegalStateException("update without a lookup");
        }
        long start = System.nanoTime();
        int size = b.bagCount();
        counters.samples.add(size);
        lastAllHot = b.allHot();
        if (lastAllHot) {
            counters.hotBatches.increment();
            counters.hotSamples.add(size);
        } else {
            counters.coldBatches.increment();
        }
        if (expectHot) {
            counters.hotBatchHostGathers.add(b.coldIds());
        }
        if (handoff != null) {
            handoff.gradientsOut(b.hotBatch(), b.bagStride(), size);
            store.apply(b, null, learningRate, Trainer.EMBEDDING_EPS);
        } else {
            store.apply(b, grads, learningRate, Trainer.EMBEDDING_EPS);
        }
        current = null;
        free.addLast(b);
        step++;
        store.endStep(step, moveEachStep);
        counters.updateNanos.add(System.nanoTime() - start);
    }

    @Override
    public void lookupForward(Batch batch, float[][] pooled) {
        if (current != null || !queued.isEmpty()) {
            throw new IllegalStateException("a forward-only lookup while training batches are in flight");
        }
        submitAhead(batch);
        StepBatch b = queued.pollFirst();
        gather(b, pooled);
        store.discard(b);
        free.addLast(b);
    }

    private void gather(StepBatch b, float[][] pooled) {
        if (handoff == null) {
            store.gather(b, pooled);
            return;
        }
        store.gather(b, null);
        handoff.pooledIn(b.hotBatch(), b.bagStride(), b.bagCount());
    }

    @Override
    public boolean lastBatchAllHot() {
        return lastAllHot;
    }

    @Override
    public PathCounters counters() {
        return counters;
    }

    /** Closes the batches and the tiered store (not the store or the hot tier under it). */
    @Override
    public void close() {
        try {
            all.forEach(StepBatch::close);
        } finally {
            store.close(); // also after a lost device: its MXBeans go, so the store can be reopened in this JVM
        }
    }
}
