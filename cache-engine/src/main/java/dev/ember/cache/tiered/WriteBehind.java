package dev.ember.cache.tiered;

import java.util.ArrayDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Applied batches whose misses are still on the way to the cold tier, oldest first: one task a
 * batch on one thread (so they land in apply order), which the step thread never waits for
 * unless it needs a batch's buffers back or the cold tier whole (checkpoints, reads, settling).
 *
 * <p>Until its write lands, a writing batch's staged bytes are the newest value of each of its
 * misses: later batches and promotions take those rows from it ({@link #newestWith}), and moves
 * that would write such a row to the cold tier wait ({@link #holds}). One thread (the step thread)
 * uses this.
 *
 * <p>Moves ({@link Mover}) read their promotions behind the steps and hear through a
 * {@link Watcher} of every batch started since, whose writes that read may have missed. A batch
 * whose write has landed keeps its bytes until it is submitted again or closed: publishing a move
 * takes such a row from it ({@link #newestKeeping}) rather than read the cold tier again.
 */
final class WriteBehind implements AutoCloseable {
    private final ArrayDeque<StepBatch> writing = new ArrayDeque<>();
    /**
     * Batches whose write has landed and whose buffers still hold their misses' bytes, oldest
     * first, all older than the writing ones: a run of the latest landed, since reusing one drops
     * it and every one landed before it ({@link #reuse}), so none is ever older than a batch
     * reused, whose newer bytes it would otherwise stand for.
     */
    private final ArrayDeque<StepBatch> kept = new ArrayDeque<>();
    private final ExecutorService executor;
    private final boolean own;
    private Watcher watcher;

    /** Hears of each batch whose writes start. */
    @FunctionalInterface
    interface Watcher {
        void started(StepBatch b);
    }

    /** Writes on {@code executor} (not shut down here), or on a thread of its own when null. */
    WriteBehind(ExecutorService executor) {
        this.own = executor == null;
        this.executor = executor != null ? executor : Executors.newSingleThreadExecutor(r -> {
            Thread th = new Thread(TieredStore.WRITES_LOWERED ? dev.ember.cache.threads.BackgroundPriority.lowered(r) : r,
                    "ember-write-behind");
            th.setDaemon(true);
            return th;
        });
    }

    /** The one watcher of started batches (null: none). */
    void watch(Watcher w) {
        this.watcher = w;
    }

    /** Starts writing applied batch {@code b}'s misses; it is WRITING until {@link #finish}ed. */
    void start(StepBatch b) {
        if (watcher != null) {
            watcher.started(b);
        }
        b.state = StepBatch.WRITING;
        b.writeQueuedAt = System.nanoTime();
        b.writePrepared = false;
        b.prepareFailure = null;
        b.nextWrite = null;
        if (!writing.isEmpty()) {
            writing.peekLast().nextWrite = b; // its write-back may prepare this one's beside its puts
        }
        writing.addLast(b);
        b.writeBack = executor.submit(b.writeAllTask);
    }

    boolean isEmpty() {
        return writing.isEmpty();
    }

    int size() {
        return writing.size();
    }

    /** Copies the writing batches, oldest first, into {@code into} from index 0; returns how many. */
    int copyTo(StepBatch[] into) {
        int n = 0;
        for (StepBatch b : writing) {
            into[n++] = b;
        }
        return n;
    }

    /**
     * Waits until {@code upTo} and every batch before it have landed (they land in order), then
     * rethrows a write's failure (a full disk, say, named by the cold tier).
     */
    void finish(StepBatch upTo) {
        while (!writing.isEmpty()) {
            StepBatch w = writing.pollFirst();
            Future<?> f = w.writeBack;
            w.writeBack = null;
            w.state = StepBatch.OPEN;
            BackgroundWork.await(f, "a write-back to the cold tier");
            kept.addLast(w);
            if (w == upTo) {
                return;
            }
        }
    }

    /** Takes in the writes already done, oldest first, without waiting. */
    void reap() {
        while (!writing.isEmpty() && writing.peekFirst().writeBack.isDone()) {
            finish(writing.peekFirst());
        }
    }

    /**
     * {@code b}'s buffers are about to change (a submit, a close): it no longer keeps its misses'
     * bytes, nor does any batch landed before it. Call after finishing its write.
     */
    void reuse(StepBatch b) {
        if (kept.contains(b)) {
            while (kept.pollFirst() != b) {
                // the older ones go too
            }
        }
    }

    /** Waits for every write under way. */
    void finishAll() {
        if (!writing.isEmpty()) {
            finish(writing.peekLast());
        }
    }

    /** Whether a writing batch holds {@code row} of table {@code t} among its misses. */
    boolean holds(int t, long row) {
        for (StepBatch b : writing) {
            if (b.missIndex[t].get(row) >= 0) {
                return true;
            }
        }
        return false;
    }

    /** The newest writing batch that holds {@code row} of table {@code t} among its misses, or null. */
    StepBatch newestWith(int t, long row) {
        StepBatch found = null;
        for (StepBatch b : writing) {
            if (b.missIndex[t].get(row) >= 0) {
                found = b; // oldest first: the last match is the newest
            }
        }
        return found;
    }

    /**
     * The newest applied batch whose buffers hold {@code row} of table {@code t} among its misses
     * (a writing one, else one landed and kept), or null: where a row written by a batch since it
     * was read from the cold tier has its newest bytes, unless a batch that wrote it since was
     * reused (then the cold tier has them).
     */
    StepBatch newestKeeping(int t, long row) {
        StepBatch found = newestWith(t, row);
        if (found != null) {
            return found;
        }
        for (StepBatch b : kept) {
            if (b.missIndex[t].get(row) >= 0) {
                found = b; // oldest first: the last match is the newest
            }
        }
        return found;
    }

    /** Waits for the writes under way; stops the thread of its own. */
    @Override
    public void close() {
        try {
            finishAll();
        } finally {
            if (own) {
                executor.shutdownNow();
            }
        }
    }
}
